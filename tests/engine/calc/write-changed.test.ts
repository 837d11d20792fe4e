import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { labelAudience } from '../../../engine/read/audience.ts'
import { labelDistribution } from '../../../engine/read/distribution.ts'
import { readCurrent } from '../../../engine/read/label-state.ts'
import { userLabels } from '../../../engine/read/user-labels.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, resultTables, type Fixture } from './fixture.ts'

const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }
const N = 100

/** Day 1: users 1..90 have 'v<uid % 5>'. */
const day1 = `SELECT uid, 'v' || (uid % 5) AS value FROM users WHERE uid <= 90`
/** Day 2: users 1..10 change value, 81..90 lose theirs, 91..95 get one; the others keep theirs. */
const day2 = `SELECT uid, CASE WHEN uid <= 10 THEN 'w' || (uid % 3) ELSE 'v' || (uid % 5) END AS value
  FROM users WHERE uid <= 80 OR uid BETWEEN 91 AND 95`

describeEachDb('a run writes only what changed', (kind) => {
  let f: Fixture
  let source: SourceSql
  let seq = 0
  let L = ''
  beforeAll(async () => {
    f = await newService(kind, async () => source, { resultWrites: 'changed' })
    await addUsers(f.db, N)
  })
  afterAll(() => f.dispose())
  beforeEach(() => {
    L = `w${++seq}`
  })

  const run = async (sql: string, d: Definition = def, asOf = '2024-03-01T12:00:00Z') => {
    source = { sql, params: [] }
    const r = await f.svc.createRun({ labelId: L, trigger: 'manual', asOf, definition: d })
    const done = await f.svc.executeRun(r.id, { tz: 'UTC' })
    expect(done.status, done.error).toBe('succeeded')
    return done
  }
  const table = async () =>
    (await f.db.query<{ t: string }>(`SELECT result_table AS t FROM label_state WHERE label_id = $1`, [L])).rows[0]?.t
  /** uid → [value, xmin] of the label's stored rows (xmin: the transaction that wrote the row version). */
  const rows = async (t: string) => {
    const r = await f.db.query<{ uid: number; value: string; x: string }>(
      `SELECT uid, value::text AS value, xmin::text AS x FROM ${t} ORDER BY uid`,
    )
    return new Map(r.rows.map((x) => [x.uid, [x.value, x.x] as const]))
  }
  const fresh = async (sql: string) =>
    (await f.db.query<{ uid: number; value: string }>(`SELECT uid, value FROM (${sql}) s ORDER BY uid`)).rows.map(
      (x) => [x.uid, x.value],
    )

  // Citus keeps the swap (temporary tables are coordinator-local): nothing is written in place there.
  it.skipIf(kind === 'citus')(
    'a second run updates the same table, writing only the users whose value changed; results, counts and history are exact',
    async () => {
      await run(day1)
      const t = (await table()) as string
      const before = await rows(t)
      const second = await run(day2)
      expect(await table()).toBe(t)
      const after = await rows(t)
      // Equal to a fresh computation of the day's values.
      expect([...after].map(([uid, [v]]) => [uid, v])).toEqual(await fresh(day2))
      // Untouched rows keep their row version; changed and new rows were written by the run; gone rows are gone.
      const xid = after.get(1)?.[1]
      for (let uid = 1; uid <= 95; uid++) {
        if (uid > 80 && uid <= 90) expect(after.has(uid), `uid ${uid}`).toBe(false)
        else if (uid <= 10 || uid > 90) expect(after.get(uid)?.[1], `uid ${uid}`).toBe(xid)
        else expect(after.get(uid)?.[1], `uid ${uid}`).toBe(before.get(uid)?.[1])
      }
      expect(xid).not.toBe(before.get(1)?.[1])
      expect(second).toMatchObject({ totalUsers: N, coveredUsers: 85 })
      // Distribution and history of the day are those of the new values.
      const expected = new Map<string, number>()
      for (const [, v] of await fresh(day2)) expected.set(v as string, (expected.get(v as string) ?? 0) + 1)
      const d = await labelDistribution(f.db, L, {})
      expect(d).toMatchObject({ runId: second.id, totalUsers: N, coveredUsers: 85 })
      expect(new Map(d?.items.map((i) => [String(i.value), i.users]))).toEqual(expected)
      const h = await f.db.query<{ value: string; users: number; total_users: number; run_id: string }>(
        `SELECT value, users, total_users, run_id FROM history WHERE label_id = $1 AND date = '2024-03-01'`,
        [L],
      )
      expect(new Map(h.rows.map((r) => [r.value, r.users]))).toEqual(expected)
      expect(new Set(h.rows.map((r) => `${r.total_users} ${r.run_id}`))).toEqual(new Set([`${N} ${second.id}`]))
    },
  )

  // Citus keeps the swap (temporary tables are coordinator-local): nothing is written in place there.
  it.skipIf(kind === 'citus')('a run with nothing changed writes no row', async () => {
    await run(day1)
    const t = (await table()) as string
    const before = await rows(t)
    await run(day1)
    expect(await rows(t)).toEqual(before)
  })

  // Citus keeps the swap (temporary tables are coordinator-local): nothing is written in place there.
  it.skipIf(kind === 'citus')(
    'a changed data type swaps in a new table (old one dropped); an edited rule of the same type writes in place',
    async () => {
      await run(day1)
      const t = (await table()) as string
      const edited: Definition = { ...def, rule: { method: 'metric', event: 'y', measure: { agg: 'count' } } }
      await run(day2, edited)
      expect(await table()).toBe(t)
      expect([...(await rows(t))].map(([uid, [v]]) => [uid, v])).toEqual(await fresh(day2))
      const numbers: Definition = { dataType: 'number', rule: def.rule }
      const done = await run(`SELECT uid, uid::float8 AS value FROM users WHERE uid <= 7`, numbers)
      const t2 = (await table()) as string
      expect(t2).not.toBe(t)
      expect(await resultTables(f.db)).not.toContain(t)
      expect(done.coveredUsers).toBe(7)
      expect((await labelDistribution(f.db, L, {}))?.coveredUsers).toBe(7)
      // Back to the number type's next run: in place again.
      await run(`SELECT uid, uid::float8 AS value FROM users WHERE uid <= 8`, numbers)
      expect(await table()).toBe(t2)
    },
  )

  it('a source yielding a user twice fails the run and keeps the previous results', async () => {
    const ok = await run(day1)
    const t = (await table()) as string
    const before = await rows(t)
    source = { sql: `SELECT uid, 'a' AS value FROM users UNION ALL SELECT 1, 'b'`, params: [] }
    const r = await f.svc.createRun({ labelId: L, trigger: 'manual', asOf: '2024-03-02T12:00:00Z', definition: def })
    const failed = await f.svc.executeRun(r.id, { tz: 'UTC' })
    expect(failed.status).toBe('failed')
    expect(await rows(t)).toEqual(before)
    expect((await labelDistribution(f.db, L, {}))?.runId).toBe(ok.id)
  })

  /** An executor that runs `race` once, right before the first statement reading a result table. */
  const racing = (race: () => Promise<unknown>, pattern = /FROM res_\d+/): SqlExecutor => {
    let raced = false
    return {
      ...f.db,
      query: async (sql, params) => {
        if (!raced && pattern.test(sql)) {
          raced = true
          await race()
        }
        return f.db.query(sql, params)
      },
    }
  }

  it('a reader that resolved the pointer before an in-place run committed reads the new run whole, with its counts', async () => {
    const first = await run(day1)
    let second = ''
    const seen: string[] = []
    const out = await readCurrent(
      racing(async () => (second = (await run(day2)).id)),
      L,
      async (s, exec) => {
        seen.push(s.runId)
        const r = await exec.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s.table}`)
        return { runId: s.runId, covered: s.coveredUsers, rows: r.rows[0]?.n }
      },
    )
    expect(seen).toEqual([first.id, second])
    expect(out).toEqual({ runId: second, covered: 85, rows: 85 })
  })

  it('a distribution read racing an in-place run is the new run whole (no old counts over new rows)', async () => {
    await run(day1)
    let second = ''
    const d = await labelDistribution(
      racing(async () => (second = (await run(day2)).id)),
      L,
      {},
    )
    expect(d).toMatchObject({ runId: second, coveredUsers: 85 })
    expect(d?.items.reduce((s, i) => s + i.users, 0)).toBe(85)
  })

  it('a later audience page racing an in-place run answers 409 instead of mixing runs', async () => {
    const first = await run(day1)
    const p1 = await labelAudience(f.db, L, { limit: 10 })
    expect(p1.runId).toBe(first.id)
    let second = ''
    await expect(
      labelAudience(
        racing(async () => (second = (await run(day2)).id)),
        L,
        { limit: 10, after: p1.nextCursor as string },
      ),
    ).rejects.toMatchObject({ code: 'conflict', details: { runId: first.id } })
    expect(second).not.toBe('')
  })

  it("a profile lookup racing an in-place run reads the new value with the new run's asOf", async () => {
    await run(day1)
    const got = await userLabels(
      racing(async () => run(day2, def, '2024-03-02T12:00:00Z')),
      'u1',
    )
    expect(got.find((x) => x.labelId === L)).toEqual({ labelId: L, value: 'w1', asOf: '2024-03-02T12:00:00.000Z' })
  })

  // Citus keeps the swap (temporary tables are coordinator-local): nothing is written in place there.
  it.skipIf(kind === 'citus')('deleted users vanish from the results and from the counts', async () => {
    await run(day1)
    const t = (await table()) as string
    await f.db.query(`DELETE FROM users WHERE uid IN (2, 3)`) // last test of the block: the others count on them
    const done = await run(day1)
    expect(await table()).toBe(t)
    const after = await rows(t)
    expect(after.has(2) || after.has(3)).toBe(false)
    expect(after.size).toBe(88)
    expect(done).toMatchObject({ totalUsers: N - 2, coveredUsers: 88 })
    expect(await labelDistribution(f.db, L, {})).toMatchObject({ runId: done.id, totalUsers: N - 2, coveredUsers: 88 })
  })
})

describeEachDb('a reader while a run writes in place', (kind) => {
  let f: Fixture
  let source: SourceSql
  beforeAll(async () => {
    f = await newService(kind, async () => source, { resultWrites: 'changed' })
    await addUsers(f.db, 50)
  })
  afterAll(() => f.dispose())

  // PGlite has one connection: no read can happen inside a run's transaction there.
  it.skipIf(kind !== 'postgres')(
    'sees the previous complete run until the commit (PostgreSQL: the run is held before its commit)',
    async () => {
      const run = async (sql: string) => {
        source = { sql, params: [] }
        const r = await f.svc.createRun({
          labelId: 'H',
          trigger: 'manual',
          asOf: '2024-03-01T12:00:00Z',
          definition: def,
        })
        return f.svc.executeRun(r.id, { tz: 'UTC' })
      }
      const first = await run(`SELECT uid, 'old' AS value FROM users`)
      // Another connection holds the label's summary row: the run blocks at its last write, after it
      // wrote its rows, its history and the pointer, before its commit.
      let release = () => {}
      const held = new Promise<void>((r) => (release = r))
      let holder = 0
      const holding = f.db.transaction(async (tx) => {
        await tx.query(`SELECT 1 FROM label_summary WHERE label_id = 'H' FOR UPDATE`)
        holder = Number((await tx.query<{ p: number }>(`SELECT pg_backend_pid() AS p`)).rows[0]?.p)
        await held
      })
      while (holder === 0) await new Promise((r) => setTimeout(r, 10))
      const running = run(
        `SELECT uid, CASE WHEN uid <= 20 THEN 'new' ELSE 'old' END AS value FROM users WHERE uid <= 40`,
      )
      for (;;) {
        const w = await f.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))`,
          [holder],
        )
        if ((w.rows[0]?.n ?? 0) > 0) break
        await new Promise((r) => setTimeout(r, 10))
      }
      const d = await labelDistribution(f.db, 'H', {})
      const page = await labelAudience(f.db, 'H', { limit: 100 })
      const profile = await userLabels(f.db, 'u1')
      release()
      await holding
      const second = await running
      expect(second.status).toBe('succeeded')
      expect(d).toMatchObject({ runId: first.id, coveredUsers: 50, items: [{ value: 'old', users: 50 }] })
      expect(page.runId).toBe(first.id)
      expect(page.users.map((u) => u.value)).toEqual(Array(50).fill('old'))
      expect(profile.find((x) => x.labelId === 'H')?.value).toBe('old')
      const after = await labelDistribution(f.db, 'H', {})
      expect(after).toMatchObject({ runId: second.id, coveredUsers: 40 })
      expect(new Map(after?.items.map((i) => [i.value, i.users]))).toEqual(
        new Map([
          ['new', 20],
          ['old', 20],
        ]),
      )
    },
  )
})
