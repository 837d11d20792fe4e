import type { SqlExecutor } from '../sql-executor.ts'
import type { RunPhase, RunTimings, SlowPlan } from '../../shared/schemas/wire.ts'

export type { RunPhase, RunTimings, SlowPlan, SlowStatement } from '../../shared/schemas/wire.ts'

/**
 * Where a run's time went, and the plan of a statement that took far longer than it usually does.
 *
 * A run's work is split into phases, timed by the wall clock from the run's start to its last
 * statement (the commit after it is not in them):
 * - `prepare`: compiling the rule, the data snapshot, the label's base for an incremental run;
 * - `collect`: an incremental run's customers to compute (calc/incremental.ts collectAffected);
 * - `compute`: computing the values and writing them (in place or into a new table);
 * - `history`: the day's history snapshot;
 * - `summary`: swapping the results in and the summary the server reads distributions from.
 *
 * Every statement of the run's transaction goes through the clock's executor, which keeps the
 * slowest. When that statement took at least `SLOW_STATEMENT_MS` and `SLOW_FACTOR` times its
 * phase's time in the label's previous run of the same kind (every customer computed, or some),
 * the run keeps its EXPLAIN, asked for in the run's transaction straight after the statement ran:
 * the plan the planner gives it then, which is the one that ran unless statistics changed in
 * between (a run's own ANALYZE of its scratch tables comes before the statements that read them).
 */

/** A statement slower than this is compared with the label's previous run. */
export const SLOW_STATEMENT_MS = 1000
/** …and kept when it took this many times its phase's time there. */
export const SLOW_FACTOR = 10

const phaseKeys: Record<RunPhase, keyof RunTimings> = {
  prepare: 'prepareMs',
  collect: 'collectMs',
  compute: 'computeMs',
  history: 'historyMs',
  summary: 'summaryMs',
}

/** Statements EXPLAIN takes (not DDL, ANALYZE, SET). */
const explainable = /^\s*(?:\(\s*)*(?:WITH|SELECT|INSERT|UPDATE|DELETE|VALUES|TABLE)\b/i

const tenths = (ms: number) => Math.round(ms * 10) / 10

/** Every phase at 0 ms. */
export const noTimings = (): RunTimings => ({ prepareMs: 0, collectMs: 0, computeMs: 0, historyMs: 0, summaryMs: 0 })

export class RunClock {
  private phase: RunPhase = 'prepare'
  private since: number
  private readonly spent = noTimings()
  private slowest: { phase: RunPhase; ms: number; sql: string; params: readonly unknown[] | undefined } | null = null

  constructor(
    /** When the run started (performance.now()). */
    start = performance.now(),
    private readonly slowMs = SLOW_STATEMENT_MS,
  ) {
    this.since = start
  }

  /** The run moves on to `phase`: the time since the last change goes to the one it leaves. */
  enter(phase: RunPhase): void {
    const now = performance.now()
    this.spent[phaseKeys[this.phase]] += now - this.since
    this.since = now
    this.phase = phase
  }

  /** The time per phase so far (the current phase up to now). */
  timings(): RunTimings {
    this.enter(this.phase)
    const out = { ...this.spent }
    for (const k of Object.keys(out) as Array<keyof RunTimings>) out[k] = tenths(out[k])
    return out
  }

  /** The executor the run's statements go through: each timed, the slowest kept. */
  wrap(db: SqlExecutor): SqlExecutor {
    const timed = async <T>(sql: string, params: readonly unknown[] | undefined, run: () => Promise<T>): Promise<T> => {
      const t = performance.now()
      const out = await run()
      const ms = performance.now() - t
      if (ms >= this.slowMs && ms > (this.slowest?.ms ?? 0)) this.slowest = { phase: this.phase, ms, sql, params }
      return out
    }
    const copyFrom = db.copyFrom?.bind(db)
    return {
      kind: db.kind,
      ...(db.citus ? { citus: true } : {}),
      query: (sql, params) => timed(sql, params, () => db.query(sql, params)),
      exec: (sql) => timed(sql, undefined, () => db.exec(sql)),
      ...(copyFrom
        ? { copyFrom: (sql: string, data: Uint8Array) => timed(sql, undefined, () => copyFrom(sql, data)) }
        : {}),
      transaction: (fn) => db.transaction((tx) => fn(this.wrap(tx))),
      close: () => db.close(),
    }
  }

  /**
   * The slowest statement with its plan when it was slow for the label (see above); null
   * otherwise. `previous`: the label's previous run of the same kind, its timings (null: none).
   * The EXPLAIN runs under a savepoint of `tx`: its failure leaves the run's transaction whole.
   */
  async slowPlan(tx: SqlExecutor, previous: RunTimings | null): Promise<SlowPlan | null> {
    const s = this.slowest
    if (!s || !previous) return null
    const usualMs = previous[phaseKeys[s.phase]]
    if (s.ms < SLOW_FACTOR * usualMs) return null
    let plan: string | null = null
    if (explainable.test(s.sql))
      plan = await tx
        .transaction(async (sp) => {
          const r = await sp.query<Record<string, string>>(`EXPLAIN ${s.sql}`, s.params)
          return r.rows.map((row) => Object.values(row)[0]).join('\n')
        })
        .catch(() => null)
    return { phase: s.phase, ms: tenths(s.ms), usualMs, statement: s.sql, plan }
  }

  /** Whether some statement took at least the threshold (only then is the previous run read). */
  get hadSlowStatement(): boolean {
    return this.slowest !== null
  }
}
