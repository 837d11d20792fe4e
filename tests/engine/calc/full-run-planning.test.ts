import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { plannedAsFullRun } from '../../../engine/calc/full-run-planning.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, type Fixture } from './fixture.ts'

/**
 * A full run's statement is planned with effective_cache_size at most shared_buffers, on
 * PostgreSQL only (engine/calc/full-run-planning.ts), and the session's value is back after it.
 * The label's statement here reads the setting in force as its value, so the stored values say
 * what the planner was told while it ran, whether the run swaps or writes in place.
 */
const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }
const source: SourceSql = {
  sql: `SELECT uid, current_setting('effective_cache_size') || ' of ' || current_setting('shared_buffers') AS value FROM users`,
  params: [],
}

describeEachDb('a full run is planned as if only shared_buffers cached the tables', (kind) => {
  let f: Fixture
  let day = 0
  beforeAll(async () => {
    f = await newService(kind, async () => source, { resultWrites: 'changed' })
    await addUsers(f.db, 20)
  })
  afterAll(() => f.dispose())

  const settings = async () =>
    (
      await f.db.query<{ ecs: string; sb: string }>(
        `SELECT current_setting('effective_cache_size') AS ecs, current_setting('shared_buffers') AS sb`,
      )
    ).rows[0] as { ecs: string; sb: string }

  const runValues = async () => {
    const asOf = new Date(Date.UTC(2024, 2, 1 + ++day, 12)).toISOString()
    const r = await f.svc.createRun({ labelId: 'l', trigger: 'manual', asOf, definition: def })
    const done = await f.svc.executeRun(r.id, { tz: 'UTC' })
    expect(done.status, done.error).toBe('succeeded')
    const t = (await f.db.query<{ t: string }>(`SELECT result_table AS t FROM label_state WHERE label_id = 'l'`))
      .rows[0]?.t
    const v = await f.db.query<{ value: string }>(`SELECT DISTINCT value FROM ${t}`)
    return { values: v.rows.map((x) => x.value), writes: done.resultWrites }
  }

  it('while a full run computes, swapping then writing in place; the session keeps its own value', async () => {
    const before = await settings()
    // PostgreSQL: shared_buffers (128MB by default) where the session's 4GB was; elsewhere unchanged.
    const expected = kind === 'postgres' ? `${before.sb} of ${before.sb}` : `${before.ecs} of ${before.sb}`
    if (kind === 'postgres') expect(before.ecs).not.toBe(before.sb)
    const first = await runValues()
    expect(first).toEqual({ values: [expected], writes: 'swap' })
    const second = await runValues()
    // Citus keeps the swap (result-swap.ts).
    expect(second).toEqual({ values: [expected], writes: kind === 'citus' ? 'swap' : 'changed' })
    expect(await settings()).toEqual(before)
  })

  it("the run's later statements, in the same transaction, have the session's value again", async () => {
    const ecs = async (tx: SqlExecutor) =>
      (await tx.query<{ v: string }>(`SELECT current_setting('effective_cache_size') AS v`)).rows[0]?.v
    const seen = await f.db.transaction(async (tx) => {
      const before = await ecs(tx)
      const during = await plannedAsFullRun(tx, () => ecs(tx))
      return { before, during, after: await ecs(tx) }
    })
    const sb = (await settings()).sb
    expect(seen.during).toBe(kind === 'postgres' ? sb : seen.before)
    expect(seen.after).toBe(seen.before)
  })
})
