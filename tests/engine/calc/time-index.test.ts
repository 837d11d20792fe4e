import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { ASOF, generateData, loadData, runCompiled, sortedEntries, storedResults } from '../../helpers/rule-data.ts'

/**
 * The event tables' index by time is built by the first run that may be incremental
 * (engine/storage/extend.ts addTimeIndexes, called from calc/execute-run.ts before the run
 * starts). It only speeds up the collection of the customers to compute: when building it fails,
 * the run still succeeds, incrementally, and the next run tries again.
 */

const DAY = 86_400_000
const tz = 'UTC'
const def: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', window: { lastDays: 7 }, measure: { agg: 'count' } },
}

/** `db` whose statements building an index by time fail while `failing.on`. */
function failingTimeIndex(db: SqlExecutor, failing: { on: boolean }): SqlExecutor {
  const wrap = (x: SqlExecutor): SqlExecutor =>
    new Proxy(x, {
      get(target, prop) {
        if (prop === 'exec')
          return async (sql: string) => {
            if (failing.on && /CREATE INDEX ev\d+_time/.test(sql)) throw new Error('injected: no space left on device')
            return target.exec(sql)
          }
        if (prop === 'transaction')
          return <T>(fn: (tx: SqlExecutor) => Promise<T>) => target.transaction((tx) => fn(wrap(tx)))
        const v = Reflect.get(target, prop)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
  return wrap(db)
}

describeEachDb('the index by time of the first incremental run', (kind) => {
  let db: TestDb
  beforeEach(async () => {
    db = await newDb(kind)
    await loadData(db, generateData(5, { users: 200, events: 1500 }))
  })
  afterEach(async () => {
    vi.restoreAllMocks()
    await db.dispose()
  })

  const timeIndexed = async () =>
    (
      await db.query<{ t: string }>(
        `SELECT tablename AS t FROM pg_indexes WHERE schemaname = current_schema() AND indexname = tablename || '_time' ORDER BY 1`,
      )
    ).rows.map((r) => r.t)

  it('a failed build warns and leaves the run to succeed; the next run builds it', async () => {
    if (kind === 'citus') return // no incremental runs there
    const failing = { on: true }
    const svc = new EngineService(failingTimeIndex(db, failing), { resultWrites: 'auto', incremental: 'always' })
    await svc.migrate()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const runAt = async (asOf: Date) => {
      const run = await svc.createRun({ labelId: 'l1', trigger: 'schedule', asOf: asOf.toISOString(), definition: def })
      const done = await svc.executeRun(run.id, { tz })
      expect(done.status, done.error ?? '').toBe('succeeded')
      const r = await db.query<{ n: number | null }>(`SELECT recomputed_users AS n FROM runs WHERE id = $1`, [run.id])
      const all = await runCompiled(db, compileRule(def, { catalogue: await loadCatalogue(db), asOf, tz }))
      expect(sortedEntries(await storedResults(db, 'l1'))).toEqual(sortedEntries(all))
      return r.rows[0]?.n ?? null
    }
    expect(await runAt(ASOF)).toBeNull() // the first run computes everyone and builds nothing
    expect(warn).not.toHaveBeenCalled()
    // The next day's run would build the index: the build fails, the run is still incremental.
    expect(await runAt(new Date(ASOF.getTime() + DAY))).not.toBeNull()
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      'engine: indexing event tables by time before a run failed:',
    ])
    expect(await timeIndexed()).toEqual([])
    failing.on = false
    expect(await runAt(new Date(ASOF.getTime() + 2 * DAY))).not.toBeNull()
    const tables = [...(await loadCatalogue(db)).events.values()].map((e) => e.table).sort()
    expect(await timeIndexed()).toEqual(tables)
  })
})
