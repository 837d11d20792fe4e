import { afterAll, beforeAll, expect, it } from 'vitest'
import { ingestEventRecords } from '../../../engine/ingest/index.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, fixedSql, newService, resultTables, type Fixture } from '../calc/fixture.ts'
import type { Definition } from '../../../engine/api.ts'

const metric: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
}

describeEachDb('preview', (kind) => {
  let f: Fixture
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 5)
    const ev = [1, 1, 1, 2, 3].map((u, i) => ({
      user_id: `u${u}`,
      event: 'purchase',
      time: `2024-03-0${i + 1}T10:00:00Z`,
    }))
    expect((await ingestEventRecords(f.db, ev)).committed).toBe(true)
  })
  afterAll(() => f.dispose())

  const counts = async () => {
    const r = await f.db.query<{ runs: number; hist: number; state: number }>(
      `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM history) AS hist, (SELECT count(*)::int FROM label_state) AS state`,
    )
    return { ...r.rows[0], tables: await resultTables(f.db) }
  }

  it('evaluates an unsaved rule with the compiler and stores nothing', async () => {
    const before = await counts()
    const d = await f.svc.preview(metric, {
      tz: 'UTC',
      asOf: '2024-04-01T00:00:00Z',
      query: { sort: 'value', order: 'asc' },
    })
    expect(d).toMatchObject({
      labelId: null,
      runId: null,
      asOf: '2024-04-01T00:00:00.000Z',
      totalUsers: 5,
      coveredUsers: 5,
    })
    expect(d.items.map((i) => [i.value, i.users])).toEqual([
      [0, 2],
      [1, 2],
      [3, 1],
    ])
    expect(await counts()).toEqual(before)
    const t = await f.db.query(`SELECT 1 FROM pg_class WHERE relname = 'preview_res'`)
    expect(t.rows).toHaveLength(0)
  })

  it('asOf limits the events it sees', async () => {
    const d = await f.svc.preview(metric, { tz: 'UTC', asOf: '2024-03-03T00:00:00Z' })
    // only u1's purchases on 03-01 and 03-02 are before asOf
    expect(d.items.map((i) => [i.value, i.users])).toEqual([
      [0, 4],
      [2, 1],
    ])
  })

  it('refuses an invalid rule with its path and bad query parameters', async () => {
    await expect(
      f.svc.preview({ ...metric, rule: { ...metric.rule, event: 'nope' } as never }, { tz: 'UTC' }),
    ).rejects.toMatchObject({ code: 'invalid', path: '/rule/event' })
    await expect(f.svc.preview(metric, { tz: 'UTC', query: { top: 99 } })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/top',
    })
  })

  it('exceeding timeoutMs gives a timeout error', async () => {
    const g = await newService(
      kind,
      fixedSql(`SELECT uid, 1::float8 AS value FROM users, (SELECT 1 FROM pg_sleep(0.4)) s`),
    )
    try {
      await expect(g.svc.preview(metric, { tz: 'UTC', timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' })
      expect((await g.svc.preview(metric, { tz: 'UTC', timeoutMs: 5000 })).coveredUsers).toBe(0)
    } finally {
      await g.dispose()
    }
  })

  it('the import method previews as empty', async () => {
    const d = await f.svc.preview({ dataType: 'string', rule: { method: 'import' } }, { tz: 'UTC' })
    expect(d).toMatchObject({ totalUsers: 5, coveredUsers: 0, items: [] })
  })
})
