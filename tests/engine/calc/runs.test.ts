import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, resultTables, type Fixture } from './fixture.ts'
import type { Definition } from '../../../engine/api.ts'
import { loadRun, startRun } from '../../../engine/calc/runs.ts'

const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }
const numberDef: Definition = { dataType: 'number', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }

describeEachDb('runs and the atomic result swap', (kind) => {
  // One database for the block (a PGlite start costs seconds); each test uses its own labels.
  let f: Fixture
  let source: SourceSql
  let seq = 0
  let L1 = '',
    L2 = '',
    L3 = ''
  beforeAll(async () => {
    f = await newService(kind, async () => source)
    await addUsers(f.db, 10)
  })
  afterAll(() => f.dispose())
  beforeEach(() => {
    seq++
    ;[L1, L2, L3] = [`a${seq}`, `b${seq}`, `c${seq}`]
  })

  const run = async (
    labelId = L1,
    d: Definition = def,
    asOf = '2024-03-01T12:00:00Z',
    tz = 'UTC',
    timeoutMs?: number,
  ) => {
    const r = await f.svc.createRun({ labelId, trigger: 'manual', asOf, definition: d })
    return f.svc.executeRun(r.id, { tz, ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
  }

  it('records a queued run, then a succeeded run with total and covered users', async () => {
    source = {
      sql: `SELECT uid, CASE WHEN uid % 2 = 0 THEN 'even' ELSE 'odd' END AS value FROM users WHERE uid <= 6`,
      params: [],
    }
    const q = await f.svc.createRun({ labelId: L1, trigger: 'create', asOf: '2024-03-01T12:00:00Z', definition: def })
    expect(q).toMatchObject({
      labelId: L1,
      status: 'queued',
      trigger: 'create',
      asOf: '2024-03-01T12:00:00.000Z',
      startedAt: null,
      finishedAt: null,
    })
    expect(q.id).toMatch(/^r_/)
    const done = await f.svc.executeRun(q.id, { tz: 'UTC' })
    expect(done).toMatchObject({ id: q.id, status: 'succeeded', totalUsers: 10, coveredUsers: 6 })
    expect(done.error).toBeUndefined()
    expect(done.startedAt).not.toBeNull()
    expect(done.finishedAt! >= done.startedAt!).toBe(true)
    expect(await f.svc.getRun(q.id)).toEqual(done)
    const dist = await f.svc.distribution(L1, 'string', {})
    expect(dist?.items).toEqual([
      { value: 'even', users: 3, proportion: 0.3 },
      { value: 'odd', users: 3, proportion: 0.3 },
    ])
  })

  it('refuses to execute a run that is not queued', async () => {
    source = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
    const r = await run()
    await expect(f.svc.executeRun(r.id, { tz: 'UTC' })).rejects.toMatchObject({ code: 'conflict' })
    await expect(f.svc.executeRun('r_missing', { tz: 'UTC' })).rejects.toMatchObject({ code: 'not_found' })
  })

  it('lists runs newest first and gives the last run of each label', async () => {
    source = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
    const a = await run(L1)
    const b = await run(L1)
    const c = await run(L2)
    expect((await f.svc.listRuns(L1)).map((r) => r.id)).toEqual([b.id, a.id])
    expect((await f.svc.listRuns(L1, 1)).map((r) => r.id)).toEqual([b.id])
    const last = await f.svc.lastRuns([L1, L2, L3])
    expect(Object.keys(last).sort()).toEqual([L1, L2])
    expect(last[L1]?.id).toBe(b.id)
    expect(last[L2]?.id).toBe(c.id)
    // Every label's newest runs in one statement, each list as listRuns gives it.
    const d = await run(L1)
    const lists = await f.svc.listRunsOf([L1, L2, L3], 2)
    expect(Object.keys(lists).sort()).toEqual([L1, L2])
    expect(lists[L1]).toEqual(await f.svc.listRuns(L1, 2))
    expect(lists[L1]?.map((r) => r.id)).toEqual([d.id, b.id])
    expect(lists[L2]).toEqual(await f.svc.listRuns(L2, 2))
    expect((await f.svc.listRunsOf([L1], 50))[L1]).toEqual(await f.svc.listRuns(L1, 50))
  })

  it('a failing run leaves the previous results and history untouched and records its error', async () => {
    source = { sql: `SELECT uid, 'old'::text AS value FROM users`, params: [] }
    const ok = await run()
    const tablesBefore = await resultTables(f.db)
    const histBefore = await f.svc.history(L1, {})
    source = { sql: `SELECT uid, (1 / (uid - uid))::text AS value FROM users`, params: [] }
    const bad = await run(L1, def, '2024-03-01T18:00:00Z')
    expect(bad.status).toBe('failed')
    expect(bad.error).toMatch(/division by zero/)
    expect(bad.finishedAt).not.toBeNull()
    const dist = await f.svc.distribution(L1, 'string', {})
    expect(dist).toMatchObject({ runId: ok.id, coveredUsers: 10, items: [{ value: 'old', users: 10, proportion: 1 }] })
    expect(await f.svc.history(L1, {})).toEqual(histBefore)
    expect(await resultTables(f.db)).toEqual(tablesBefore)
  })

  it('a compile error fails the run with the error and its path', async () => {
    const g = await newService(kind) // the real compiler: event "x" doesn't exist
    try {
      const r = await g.svc.createRun({
        labelId: L1,
        trigger: 'manual',
        asOf: '2024-03-01T12:00:00Z',
        definition: numberDef,
      })
      const done = await g.svc.executeRun(r.id, { tz: 'UTC' })
      expect(done.status).toBe('failed')
      expect(done.error).toMatch(/\/rule\/event/)
      expect(await g.svc.distribution(L1, 'number', {})).toBeNull()
    } finally {
      await g.dispose()
    }
  })

  it('a run over its timeout fails with a timeout error and changes nothing', async () => {
    source = { sql: `SELECT uid, 'old'::text AS value FROM users`, params: [] }
    const ok = await run()
    source = { sql: `SELECT uid, 'new'::text AS value FROM users, (SELECT 1 FROM pg_sleep(0.4)) s`, params: [] }
    const slow = await run(L1, def, '2024-03-01T12:00:00Z', 'UTC', 100)
    expect(slow.status).toBe('failed')
    expect(slow.error).toMatch(/timeout of 100 ms/)
    expect((await f.svc.distribution(L1, 'string', {}))?.runId).toBe(ok.id)
  })

  it('a swap replaces the result table: the old one is dropped (Citus: kept as the spare), one table per label remains', async () => {
    source = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
    const start = await resultTables(f.db)
    await run(L1)
    await run(L2)
    const before = await resultTables(f.db)
    expect(before).toHaveLength(start.length + 2)
    source = { sql: `SELECT uid, 'b'::text AS value FROM users`, params: [] }
    await run(L1)
    const after = await resultTables(f.db)
    // On Citus the replaced table stays as the label's spare, refilled by its next run
    // (tests/engine/citus/spare-tables.test.ts); elsewhere it is dropped.
    const spares = kind === 'citus' ? 1 : 0
    expect(after).toHaveLength(start.length + 2 + spares)
    expect(after).not.toEqual(before)
    expect((await f.svc.distribution(L1, 'string', {}))?.items.map((i) => i.value)).toEqual(['b'])
    expect((await f.svc.distribution(L2, 'string', {}))?.items.map((i) => i.value)).toEqual(['a'])
  })

  it('a reader during a run sees the previous complete results until the commit', async () => {
    source = { sql: `SELECT uid, 'old'::text AS value FROM users`, params: [] }
    const ok = await run()
    source = { sql: `SELECT uid, 'new'::text AS value FROM users, (SELECT 1 FROM pg_sleep(0.6)) s`, params: [] }
    const q = await f.svc.createRun({ labelId: L1, trigger: 'manual', asOf: '2024-03-02T12:00:00Z', definition: def })
    const running = f.svc.executeRun(q.id, { tz: 'UTC' })
    // Wait until the run has started (it is 'running' before its transaction begins).
    for (let i = 0; i < 100 && (await f.svc.getRun(q.id))?.status !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 150))
    const during = await f.svc.distribution(L1, 'string', {})
    const audience = await f.svc.audience(L1, 'string', {})
    const done = await running
    expect(done.status).toBe('succeeded')
    if (kind !== 'pglite') {
      // Separate connections: the reader isn't blocked and sees exactly the old results.
      expect(during).toMatchObject({ runId: ok.id, items: [{ value: 'old', users: 10 }] })
      expect(audience.users.every((u) => u.value === 'old')).toBe(true)
    } else {
      // PGlite has one connection: the reader waits for the commit, and never sees a mix.
      expect([ok.id, q.id]).toContain(during?.runId)
      expect(during?.items).toHaveLength(1)
      expect(new Set(audience.users.map((u) => u.value)).size).toBe(1)
    }
    expect(audience.users).toHaveLength(10)
    expect(await f.svc.distribution(L1, 'string', {})).toMatchObject({
      runId: q.id,
      items: [{ value: 'new', users: 10 }],
    })
  })

  it('a run uses the definition frozen into it at creation', async () => {
    const g = await newService(kind)
    try {
      await addUsers(g.db, 3)
      const frozen: Definition = {
        dataType: 'string',
        rule: {
          method: 'custom',
          values: [{ value: 'low', when: { attribute: 'n', op: 'lte', value: 2 } }],
          otherwise: 'high',
        },
      }
      const r = await g.svc.createRun({
        labelId: L1,
        trigger: 'manual',
        asOf: '2024-03-01T12:00:00Z',
        definition: frozen,
      })
      frozen.rule = { method: 'custom', values: [{ value: 'edited', when: { attribute: 'n', op: 'gte', value: 0 } }] } // an edit after creation
      const done = await g.svc.executeRun(r.id, { tz: 'UTC' })
      expect(done.status, done.error).toBe('succeeded')
      const d = await g.svc.distribution(L1, 'string', { sort: 'value', order: 'asc' })
      expect(d?.items.map((i) => [i.value, i.users])).toEqual([
        ['high', 1],
        ['low', 2],
      ])
    } finally {
      await g.dispose()
    }
  })

  it('claiming a run freezes the definition it is claimed with, and a run is claimed once', async () => {
    const a: Definition = { dataType: 'string', rule: { method: 'custom', values: [], otherwise: 'a' } }
    const b: Definition = { dataType: 'string', rule: { method: 'custom', values: [], otherwise: 'b' } }
    const created = async () =>
      (await f.svc.createRun({ labelId: L2, trigger: 'manual', asOf: '2024-03-01T12:00:00Z', definition: a })).id
    const same = await created()
    expect(await startRun(f.db, same, a)).toBe(true)
    expect((await loadRun(f.db, same))?.definition).toEqual(a)
    expect(await startRun(f.db, same, b)).toBe(false) // running: not claimed again, not rewritten
    expect((await loadRun(f.db, same))?.definition).toEqual(a)
    const edited = await created()
    expect(await startRun(f.db, edited, b)).toBe(true)
    expect((await loadRun(f.db, edited))?.definition).toEqual(b)
    const kept = await created()
    expect(await startRun(f.db, kept)).toBe(true)
    expect((await loadRun(f.db, kept))?.definition).toEqual(a)
    await f.svc.failInterruptedRuns()
  })

  it('failInterruptedRuns marks queued and running leftovers failed as interrupted', async () => {
    source = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
    const ok = await run(L1)
    const queued = await f.svc.createRun({
      labelId: L2,
      trigger: 'schedule',
      asOf: '2024-03-01T12:00:00Z',
      definition: def,
    })
    const stuck = await f.svc.createRun({
      labelId: L3,
      trigger: 'schedule',
      asOf: '2024-03-01T12:00:00Z',
      definition: def,
    })
    await f.db.query(`UPDATE runs SET status = 'running', started_at = now() WHERE id = $1`, [stuck.id])
    const failed = await f.svc.failInterruptedRuns()
    expect(failed.map((r) => r.id)).toEqual([queued.id, stuck.id])
    for (const r of failed) expect(r).toMatchObject({ status: 'failed', error: 'interrupted' })
    expect((await f.svc.getRun(ok.id))?.status).toBe('succeeded')
    expect(await f.svc.failInterruptedRuns()).toEqual([])
  })

  it('deleteLabelData removes results, history and runs of that label only', async () => {
    source = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
    await run(L1)
    await run(L2)
    const tables = (await resultTables(f.db)).length
    await f.svc.deleteLabelData(L1)
    expect(await f.svc.distribution(L1, 'string', {})).toBeNull()
    expect((await f.svc.history(L1, {})).items).toEqual([])
    expect(await f.svc.listRuns(L1)).toEqual([])
    const mine = (await f.svc.userLabels('u1')).filter((x) => x.labelId === L1 || x.labelId === L2)
    expect(mine).toEqual([{ labelId: L2, value: 'a', asOf: '2024-03-01T12:00:00.000Z' }])
    expect(await resultTables(f.db)).toHaveLength(tables - 1)
  })

  it('covers only users with a value: NULL values and empty collections are not covered', async () => {
    source = {
      sql: `SELECT uid, CASE WHEN uid <= 3 THEN ARRAY['a'] WHEN uid <= 5 THEN ARRAY[]::text[] END AS value FROM users`,
      params: [],
    }
    const r = await run(L1, { ...def, dataType: 'collection' })
    expect(r).toMatchObject({ status: 'succeeded', totalUsers: 10, coveredUsers: 3 })
    expect((await f.svc.distribution(L1, 'collection', {}))?.items).toEqual([{ value: 'a', users: 3, proportion: 0.3 }])
  })
})
