import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, type Fixture } from './fixture.ts'

const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }

describeEachDb('history snapshots', (kind) => {
  let f: Fixture
  let source: SourceSql
  let seq = 0
  const label = () => `h${++seq}`
  beforeAll(async () => {
    f = await newService(kind, async () => source)
    await addUsers(f.db, 4)
  })
  afterAll(() => f.dispose())

  const run = async (labelId: string, asOf: string, tz = 'UTC', d: Definition = def) => {
    const r = await f.svc.createRun({ labelId, trigger: 'manual', asOf, definition: d })
    const done = await f.svc.executeRun(r.id, { tz })
    expect(done.status, done.error).toBe('succeeded')
    return done
  }
  const values = (sql: string) => ({ sql: `SELECT uid, ${sql} AS value FROM users`, params: [] })

  it('a later run on the same day replaces that day, another day adds a snapshot', async () => {
    const L = label()
    source = values(`'a'::text`)
    await run(L, '2024-03-01T08:00:00Z')
    source = values(`CASE WHEN uid <= 1 THEN 'a' ELSE 'b' END`)
    await run(L, '2024-03-01T20:00:00Z')
    source = values(`'c'::text`)
    await run(L, '2024-03-02T08:00:00Z')
    expect((await f.svc.history(L, {})).items).toEqual([
      { date: '2024-03-01', value: 'a', users: 1, proportion: 0.25 },
      { date: '2024-03-01', value: 'b', users: 3, proportion: 0.75 },
      { date: '2024-03-02', value: 'c', users: 4, proportion: 1 },
    ])
  })

  it('the snapshot date is the day of asOf in the workspace time zone', async () => {
    const L = label(),
      M = label()
    source = values(`'a'::text`)
    await run(L, '2024-03-01T23:30:00Z', 'Asia/Tokyo')
    await run(M, '2024-03-01T23:30:00Z', 'America/Los_Angeles')
    expect((await f.svc.history(L, {})).items.map((i) => i.date)).toEqual(['2024-03-02'])
    expect((await f.svc.history(M, {})).items.map((i) => i.date)).toEqual(['2024-03-01'])
  })

  it('filters by inclusive date range and by values, ordered by date then value', async () => {
    const L = label()
    for (const [day, v] of [
      ['01', `CASE WHEN uid % 2 = 0 THEN 'y' ELSE 'x' END`],
      ['02', `'x'::text`],
      ['03', `'z'::text`],
    ] as const) {
      source = values(v)
      await run(L, `2024-03-${day}T12:00:00Z`)
    }
    const h = await f.svc.history(L, { from: '2024-03-02', to: '2024-03-03' })
    expect(h.items.map((i) => `${i.date}:${i.value}`)).toEqual(['2024-03-02:x', '2024-03-03:z'])
    const v = await f.svc.history(L, { values: ['x', 'y'] })
    expect(v.items.map((i) => `${i.date}:${i.value}`)).toEqual(['2024-03-01:x', '2024-03-01:y', '2024-03-02:x'])
    expect((await f.svc.history(L, { to: '2024-03-01' })).items).toHaveLength(2)
  })

  it('refuses malformed dates and an inverted range', async () => {
    await expect(f.svc.history('h0', { from: '2024-02-30' })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/from',
    })
    await expect(f.svc.history('h0', { to: 'yesterday' })).rejects.toMatchObject({ code: 'bad_request', path: '/to' })
    await expect(f.svc.history('h0', { from: '2024-03-02', to: '2024-03-01' })).rejects.toMatchObject({
      code: 'bad_request',
    })
  })

  it('keys numbers by exact value, as the distribution, while they have at most 50 distinct values', async () => {
    const L = label()
    source = values(`(uid * 1.5)::float8`)
    await run(L, '2024-03-01T12:00:00Z', 'UTC', { ...def, dataType: 'number' })
    const h = await f.svc.history(L, {})
    expect(h.items.map((i) => [i.value, i.users])).toEqual([
      ['1.5', 1],
      ['3', 1],
      ['4.5', 1],
      ['6', 1],
    ])
    expect((await f.svc.history(L, { values: ['4.5'] })).items).toEqual([
      { date: '2024-03-01', value: '4.5', users: 1, proportion: 0.25 },
    ])
  })

  it('keys dates by day in the workspace zone and collections by element', async () => {
    const D = label(),
      C = label()
    source = values(`timestamptz '2024-03-01T23:00:00Z' + (uid || ' hours')::interval`)
    await run(D, '2024-03-05T12:00:00Z', 'Asia/Tokyo', { ...def, dataType: 'date' })
    // 2024-03-02T00:00Z.. in Tokyo are 09:00.. on 2024-03-02
    expect((await f.svc.history(D, {})).items.map((i) => [i.value, i.users])).toEqual([['2024-03-02', 4]])
    expect((await f.svc.historyBuckets(D, 'date')).buckets).toMatchObject({ granularity: 'day', source: 'first_run' })
    source = values(`CASE WHEN uid <= 2 THEN ARRAY['a','b'] ELSE ARRAY['b'] END`)
    await run(C, '2024-03-05T12:00:00Z', 'UTC', { ...def, dataType: 'collection' })
    expect((await f.svc.history(C, {})).items.map((i) => [i.value, i.users])).toEqual([
      ['a', 2],
      ['b', 4],
    ])
  })
})
