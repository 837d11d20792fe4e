import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest'
import type { Definition, Run, RunTimings } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { RunClock } from '../../../engine/calc/run-clock.ts'
import { previousTimings } from '../../../engine/calc/runs.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { addUsers, newService, type Fixture } from './fixture.ts'

/**
 * Where a run's time went (runs.timings) and the plan of a statement that took far longer than
 * in the label's previous run (engine/calc/run-clock.ts). The stand-in compiler's statement
 * sleeps (pg_sleep, in its FROM: once per statement) to make a run slow on purpose.
 */

const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }
const fast: SourceSql = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
const sleeping = (s: number): SourceSql => ({
  sql: `SELECT uid, 'a'::text AS value FROM users, pg_sleep($1::float8)`,
  params: [s],
})
const phases: Array<keyof RunTimings> = ['prepareMs', 'collectMs', 'computeMs', 'historyMs', 'summaryMs']
const total = (t: RunTimings) => phases.reduce((a, k) => a + t[k], 0)
const ms = (a: string | null, b: string | null) => new Date(b as string).getTime() - new Date(a as string).getTime()

describeEachDb('run timings and slow statements', (kind) => {
  let f: Fixture
  let source: SourceSql = fast
  let seq = 0
  let L = ''
  beforeAll(async () => {
    // A statement of 150 ms or more is compared with the label's previous run (1 s by default).
    f = await newService(kind, async () => source, { slowStatementMs: 150 })
    await addUsers(f.db, 5)
  })
  afterAll(() => f.dispose())
  beforeEach(() => {
    L = `slow${++seq}`
    source = fast
  })

  const run = async (s: SourceSql, labelId = L): Promise<Run> => {
    source = s
    const r = await f.svc.createRun({ labelId, trigger: 'manual', asOf: '2024-03-01T12:00:00Z', definition: def })
    const done = await f.svc.executeRun(r.id, { tz: 'UTC' })
    expect(done.status).toBe('succeeded')
    return done
  }

  // On Citus the stand-in's pg_sleep beside a distributed table fails the run: the slow statement
  // is made on PGlite and PostgreSQL (the EXPLAIN under a savepoint is checked on Citus below).
  const sleeps = kind !== 'citus'

  it.skipIf(!sleeps)(
    "a succeeded calculation records its time per phase, the compute statement's in compute",
    async () => {
      const done = await run(sleeping(0.3))
      const t = done.timings as RunTimings
      expect(Object.keys(t).sort()).toEqual([...phases].sort())
      for (const k of phases) expect(t[k]).toBeGreaterThanOrEqual(0)
      expect(t.computeMs).toBeGreaterThanOrEqual(295)
      for (const k of phases.filter((p) => p !== 'computeMs')) expect(t[k]).toBeLessThan(295)
      // The phases run between the run's start and its finish (both stamped by the database).
      expect(total(t)).toBeLessThanOrEqual(ms(done.startedAt, done.finishedAt) + 5)
      expect(await f.svc.getRun(done.id)).toEqual(done)
      expect((await f.svc.listRuns(L))[0]?.timings).toEqual(t)
    },
  )

  it.skipIf(!sleeps)(
    'keeps the plan of a statement ten times slower than its phase in the previous run, and only then',
    async () => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
      try {
        // A first run has nothing to be compared with, however slow.
        const first = await run(sleeping(0.2))
        expect(first.slow).toBeUndefined()
        expect(await f.svc.slowPlan(first.id)).toBeNull()
        const quick = await run(fast)
        expect(quick.slow).toBeUndefined()
        // A second: ten times the quick run's compute phase even where a busy machine makes it 100 ms.
        const slow = await run(sleeping(1))
        expect(slow.slow).toMatchObject({ phase: 'compute', usualMs: quick.timings?.computeMs })
        expect(slow.slow?.ms).toBeGreaterThanOrEqual(995)
        expect(slow.slow?.ms).toBeLessThanOrEqual(slow.timings?.computeMs as number)
        const plan = await f.svc.slowPlan(slow.id)
        expect(plan).toMatchObject({ ...slow.slow })
        expect(plan?.statement).toMatch(/^INSERT INTO res_\d+ .*pg_sleep\(\$1::float8\)/s)
        // EXPLAIN's text of that statement (not run again: it took no second more).
        expect(plan?.plan).toMatch(/^Insert on res_\d+/)
        expect(plan?.plan).toMatch(/Function Scan on pg_sleep/)
        expect(warn.mock.calls.some(([m]) => String(m).includes(`run ${slow.id} of label ${L}`))).toBe(true)
        expect(await f.svc.getRun(slow.id)).toEqual(slow)
        // As slow as the run before: not slow for this label any more.
        const again = await run(sleeping(1))
        expect(again.slow).toBeUndefined()
        expect(await f.svc.slowPlan(again.id)).toBeNull()
        expect(await f.svc.slowPlan('r_missing')).toBeUndefined()
      } finally {
        warn.mockRestore()
      }
    },
  )

  it('compares a run with the previous run of its kind: every customer computed, or some', async () => {
    const db = f.db
    const at = (k: number) => `2024-03-0${k}T00:00:00Z`
    const insert = async (id: string, k: number, recomputed: number | null, computeMs: number) =>
      db.query(
        `INSERT INTO runs (id, label_id, status, trigger, as_of, created_at, definition, recomputed_users, timings)
         VALUES ($1, $2, 'succeeded', 'manual', $3, $3, '{}', $4, $5::jsonb)`,
        [id, L, at(k), recomputed, JSON.stringify({ ...zero, computeMs })],
      )
    const zero: RunTimings = { prepareMs: 0, collectMs: 0, computeMs: 0, historyMs: 0, summaryMs: 0 }
    await insert(`${L}_1`, 1, null, 900)
    await insert(`${L}_2`, 2, 40, 30)
    await insert(`${L}_3`, 3, null, 800)
    await db.query(`INSERT INTO runs (id, label_id, status, trigger, as_of, created_at, definition)
      VALUES ('${L}_4', '${L}', 'failed', 'manual', '${at(4)}', '${at(4)}', '{}')`)
    expect((await previousTimings(db, L, 'now', false))?.computeMs).toBe(800)
    expect((await previousTimings(db, L, 'now', true))?.computeMs).toBe(30)
    // Not the run itself.
    expect((await previousTimings(db, L, `${L}_3`, false))?.computeMs).toBe(900)
    expect(await previousTimings(db, 'nobody', 'now', false)).toBeNull()
  })
})

describeEachDb('run timings of an incremental run', (kind) => {
  let db: TestDb
  afterAll(() => db?.dispose())
  it('an incremental run spends time collecting its customers; a full one none', async () => {
    db = await newDb(kind)
    const svc = new EngineService(db, { resultWrites: 'auto', incremental: 'always' })
    await svc.migrate()
    // Twenty customers: one day's changes touch one of them (a run over a larger share computes everyone).
    const users = Array.from({ length: 20 }, (_, i) => `u${i}`)
    expect(
      (
        await ingestUserRecords(
          db,
          users.map((user_id) => ({ user_id })),
        )
      ).committed,
    ).toBe(true)
    const event = (user_id: string, n: number) => ({
      user_id,
      event: 'buy',
      event_id: `${user_id}${n}`,
      time: `2024-02-2${n}T10:00:00Z`,
      properties: {},
    })
    expect(
      (
        await ingestEventRecords(
          db,
          users.map((u, i) => event(u, 1 + (i % 2))),
        )
      ).committed,
    ).toBe(true)
    const count: Definition = {
      dataType: 'number',
      rule: { method: 'metric', event: 'buy', window: { lastDays: 30 }, measure: { agg: 'count' } },
    }
    const calc = async (asOf: string) => {
      const r = await svc.createRun({ labelId: 'n', trigger: 'manual', asOf, definition: count })
      return svc.executeRun(r.id, { tz: 'UTC' })
    }
    const full = await calc('2024-03-01T00:00:00Z')
    if (db.citus) return // no change log there: every run computes everyone (storage/changes.ts)
    expect(full.recomputedUsers ?? null).toBeNull()
    expect(full.timings?.collectMs).toBe(0)
    expect((await ingestEventRecords(db, [event('u0', 3)])).committed).toBe(true)
    const next = await calc('2024-03-02T00:00:00Z')
    expect(next.recomputedUsers).toBeGreaterThan(0)
    expect(next.timings?.collectMs).toBeGreaterThan(0)
    expect(next.timings?.computeMs).toBeGreaterThan(0)
  })
})

describeEachDb('a slow statement EXPLAIN refuses', (kind) => {
  let db: TestDb
  afterAll(() => db?.dispose())
  it('keeps no plan and leaves the run’s transaction whole', async () => {
    db = await newDb(kind)
    const clock = new RunClock(performance.now(), 100)
    const after = await db.transaction(async (raw) => {
      const tx = clock.wrap(raw)
      await tx.exec('CREATE TEMP TABLE gone_soon (x int) ON COMMIT DROP; INSERT INTO gone_soon VALUES (1)')
      clock.enter('compute')
      await tx.query('SELECT pg_sleep(0.15), x FROM gone_soon')
      await tx.exec('DROP TABLE gone_soon')
      clock.enter('summary')
      const slow = await clock.slowPlan(tx, { prepareMs: 0, collectMs: 0, computeMs: 1, historyMs: 0, summaryMs: 0 })
      expect(slow).toMatchObject({ phase: 'compute', usualMs: 1, plan: null })
      expect(slow?.statement).toBe('SELECT pg_sleep(0.15), x FROM gone_soon')
      expect(slow?.ms).toBeGreaterThanOrEqual(145)
      return (await tx.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]?.n
    })
    expect(after).toBe(42)
    expect(clock.timings().computeMs).toBeGreaterThanOrEqual(145)
  })
})
