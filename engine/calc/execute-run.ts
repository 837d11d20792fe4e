import type { Definition, FullRunReason, Run } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError, conflict, notFound } from '../../shared/errors.ts'
import { loadLabelState } from '../read/label-state.ts'
import { Deadline, isStatementTimeout, timeoutError } from './timeout.ts'
import { writeSnapshot } from './history-snapshot.ts'
import { summariseDelta, type ResultDelta } from './result-delta.ts'
import {
  applyChanges,
  chooseResultWrites,
  countChanged,
  keyResultTable,
  lockResults,
  resultTableFor,
  swapResults,
  type ResultWrites,
  type RunWrites,
} from './result-swap.ts'
import { coveredFilter, noValuesSql } from './value-types.ts'
import { failRun, getRun, loadRun, previousTimings, startRun, succeedRun, type DataRead } from './runs.ts'
import { RunClock } from './run-clock.ts'
import { plannedAsFullRun } from './full-run-planning.ts'
import { summariseResults } from '../read/result-summary.ts'
import type { ScopeRead } from '../compiler/compile-rule.ts'
import type { DeltaContext } from '../compiler/emit-delta.ts'
import {
  AFFECTED_TABLE,
  collectAffected,
  baseOrReason,
  RECOMPUTE_TABLE,
  prepareIncremental,
  INCREMENTAL_MAX_SHARE,
  type Incremental,
  recentTimedRuns,
  restrictedLost,
  takeDataSnapshot,
} from './incremental.ts'
import { storeSummary, type RunOutcome } from '../read/read-model.ts'
import { countUsers } from '../storage/user-count.ts'
import { loadCatalogue, type Catalogue } from '../storage/catalogue.ts'

/** A statement yielding `(uid int, value T)` per covered user. */
export interface SourceSql {
  sql: string
  params: unknown[]
  /** The event tables and windows it reads; absent when it can't be restricted to some customers. */
  scopes?: ReadonlyArray<ScopeRead> | undefined
  /** The table of uids it is restricted to, when the compiler was asked to and did. */
  only?: string | undefined
  /** Set when it is the delta form the compiler was asked for (compiler/emit-delta.ts). */
  delta?: true | undefined
  /**
   * The data snapshot its rows were read at, when that was before the run's transaction (a
   * statement reading shared scans built before it: calc/refresh.ts). The run records it instead
   * of its own, so that the label's next incremental run computes what was committed in between.
   */
  readAt?: string | undefined
}

/**
 * Turns a frozen definition into its source statement (the compiler, or a stand-in in tests);
 * with `only`, restricted to the customers whose uids that table holds (calc/incremental.ts).
 * `catalogue`: the data schema the run read already, which the compiler then need not read again
 * (an incremental run compiles twice: one round trip fewer).
 */
export type CompileFn = (
  def: Definition,
  ctx: { db: SqlExecutor; asOf: Date; tz: string; only?: string; delta?: DeltaContext; catalogue?: Catalogue },
) => Promise<SourceSql>

/** What a run needs besides the run itself. */
export interface ExecuteOptions {
  tz: string
  timeoutMs?: number
  compile: CompileFn
  definition?: Definition
  /**
   * LABELS_RESULT_WRITES (default `swap`): `changed`: a label's next run of the same data type writes
   * only the customers whose value changed, into its result table; `swap`: a new table is filled and
   * swapped in; `auto`: one or the other per run from the label's last run (chooseResultWrites).
   */
  resultWrites?: ResultWrites
  /**
   * LABELS_INCREMENTAL (default on): a run whose label's current results come from the same rule
   * computes only the customers whose data or windows changed since (calc/incremental.ts), and
   * writes them in place; so not with resultWrites `swap`. `always`: even when the label's last
   * restricted run took longer than a full one (calc/incremental.ts restrictedLost).
   */
  incremental?: Incremental
  /**
   * A statement at least this long (default 1000 ms) is compared with the label's previous run,
   * and its plan kept when it took 10 times its phase's time there (calc/run-clock.ts).
   */
  slowStatementMs?: number
}

/** The message operators see for a failed run. */
export function runErrorMessage(e: unknown): string {
  if (e instanceof LabelsError) return e.path ? `${e.message} (at ${e.path})` : e.message
  if (e instanceof Error) return e.message
  return String(e)
}

/**
 * Executes a queued run: queued → running, then computes every covered user's value into a
 * fresh result table, writes the day's history snapshot, swaps the label's results and
 * marks the run succeeded, all in one transaction. Any error (compile, SQL, timeout) rolls
 * that back, so the previous results and history stay as they were, and the run is marked
 * failed with the error. Returns the finished run; never throws for a failed calculation.
 */
export async function executeRun(db: SqlExecutor, runId: string, opts: ExecuteOptions): Promise<RunOutcome> {
  const queued = await loadRun(db, runId)
  if (!queued) throw notFound(`run ${runId} not found`)
  if (queued.status !== 'queued') throw conflict(`run ${runId} is ${queued.status}, not queued`)
  const writes = opts.resultWrites ?? 'swap'
  // An incremental run writes in place: `swap` fills a new table for every run.
  const mayBeIncremental = opts.incremental !== false && writes !== 'swap'
  // The event tables' index by time, built once by the first run that may be incremental, while
  // this one is still queued: its time is not the run's (restrictedLost compares runs' times). Only
  // a faster way to a result: a failure (a statement_timeout of the server's settings, say) must not
  // fail the run, which then collects its customers with a scan.
  if (mayBeIncremental)
    await prepareIncremental(db, queued.labelId).catch((e: unknown) =>
      console.warn('engine: indexing event tables by time before a run failed:', e),
    )
  if (!(await startRun(db, runId, opts.definition))) throw conflict(`run ${runId} was claimed by another executor`)
  const run = opts.definition ? { ...queued, definition: opts.definition } : queued
  const deadline = new Deadline(opts.timeoutMs)
  const clock = new RunClock(performance.now(), opts.slowStatementMs)
  try {
    const asOf = new Date(run.asOf)
    // Read once for both compilations of an incremental run (an import compiles nothing).
    const catalogue = run.definition.rule.method === 'import' ? undefined : await loadCatalogue(db)
    const source = await sourceOf(
      db,
      run.labelId,
      run.definition,
      { db, asOf, tz: opts.tz, ...(catalogue ? { catalogue } : {}) },
      opts.compile,
    )
    // Returned straight after the commit, with no further query: the caller hears of the success
    // before any other read can show it (it drops cached results then; on PostgreSQL a read on
    // another connection could otherwise see the success first and be served stale results).
    return await db.transaction(async (raw) => {
      const tx = clock.wrap(raw)
      await deadline.apply(tx)
      return materialise(
        tx,
        { labelId: run.labelId, runId, definition: run.definition, asOf: run.asOf, tz: opts.tz, clock },
        source,
        deadline,
        writes,
        mayBeIncremental ? { compile: opts.compile, measured: opts.incremental !== 'always', catalogue } : null,
      )
    })
  } catch (e) {
    const err = isStatementTimeout(e) && opts.timeoutMs !== undefined ? timeoutError(opts.timeoutMs) : e
    await failRun(db, runId, runErrorMessage(err))
  }
  return { run: (await getRun(db, runId)) as Run, results: null }
}

/** The import method keeps its uploaded values: recalculating re-snapshots the current results. */
async function sourceOf(
  db: SqlExecutor,
  labelId: string,
  def: Definition,
  ctx: Parameters<CompileFn>[1],
  compile: CompileFn,
): Promise<SourceSql> {
  if (def.rule.method !== 'import') return compile(def, ctx)
  const state = await loadLabelState(db, labelId)
  if (state && state.dataType === def.dataType) return { sql: `SELECT uid, value FROM ${state.table}`, params: [] }
  return { sql: noValuesSql(def.dataType), params: [] }
}

interface RunTarget {
  labelId: string
  runId: string
  definition: Definition
  asOf: string
  tz: string
  /** Times the run's phases (a calculation's; an import has none). */
  clock?: RunClock
}

/** Inserts the source's covered users into `table` (caller's transaction); their count. */
async function insertCovered(
  tx: SqlExecutor,
  table: string,
  dataType: Definition['dataType'],
  source: SourceSql,
): Promise<number> {
  const ins = await plannedAsFullRun(tx, () =>
    tx.query(
      `INSERT INTO ${table} (uid, value) SELECT uid, value FROM (${source.sql}) AS src WHERE ${coveredFilter(dataType)}`,
      source.params,
    ),
  )
  return ins.affectedRows ?? (await countRows(tx, table))
}

/**
 * A result table filled from the source with the covered users (caller's transaction); its name
 * and their count. A new table, or on Citus the label's spare emptied (result-swap.ts releaseTable).
 */
export async function fillResultTable(
  tx: SqlExecutor,
  labelId: string,
  dataType: Definition['dataType'],
  source: SourceSql,
  deadline: Deadline,
): Promise<{ table: string; coveredUsers: number }> {
  const table = await resultTableFor(tx, labelId, dataType)
  const coveredUsers = await insertCovered(tx, table, dataType, source)
  deadline.check()
  return { table, coveredUsers }
}

/**
 * Inside the run's transaction: compute the values, write them, snapshot, succeed. A run writing
 * in place (`changed`, or `auto`'s choice: result-swap.ts chooseResultWrites) into a label whose
 * current results have the run's data type gets only what changed written into its result table
 * (applyChanges: one statement). The first run, a changed data type, Citus (whose distributed
 * tables don't take that statement's several modifying CTEs over one co-located scan; the swap
 * stays there) and a swap fill a new table and swap. The run record keeps which way it wrote and
 * how many customers' values changed; `auto` swaps count them against the old table (one join of
 * the two keyed tables) so that the label's next run can choose; `swap` mode doesn't count.
 */
async function materialise(
  tx: SqlExecutor,
  t: RunTarget,
  source: SourceSql,
  deadline: Deadline,
  mode: ResultWrites,
  /**
   * The compiler, for an incremental run (null: compute every customer); `measured`: not when the
   * label's last restricted run took longer than a full one.
   */
  incremental: { compile: CompileFn; measured: boolean; catalogue?: Catalogue | undefined } | null,
): Promise<RunOutcome> {
  const dataType = t.definition.dataType
  const snapshot = await takeDataSnapshot(tx)
  const tried =
    snapshot && incremental
      ? await computeIncrementally(tx, t, source, incremental.compile, incremental.measured, incremental.catalogue)
      : ({ reason: 'off' } as const)
  const partial = 'reason' in tried ? null : tried
  deadline.check()
  const how = partial || tx.citus ? 'swap' : await chooseResultWrites(tx, t.labelId, t.definition, mode)
  t.clock?.enter('compute')
  const inPlace =
    partial?.inPlace ??
    (how === 'changed' ? await plannedAsFullRun(tx, () => applyChanges(tx, t.labelId, dataType, source)) : null)
  let written: {
    table: string
    coveredUsers: number
    writes: { how: RunWrites; changedUsers: number | null }
    delta?: ResultDelta
  }
  if (inPlace) {
    const w = inPlace.written
    const changedUsers = w.deleted + w.updated + w.inserted
    written = {
      table: inPlace.table,
      coveredUsers: inPlace.coveredUsers,
      writes: { how: 'changed', changedUsers },
      delta: inPlace.delta,
    }
  } else {
    const { table, coveredUsers } = await fillResultTable(tx, t.labelId, dataType, source, deadline)
    await keyResultTable(tx, table)
    const changedUsers = mode === 'swap' ? null : await countChanged(tx, t.labelId, dataType, table, coveredUsers)
    written = { table, coveredUsers, writes: { how: 'swap', changedUsers } }
  }
  const done = await finishResults(tx, {
    ...t,
    ...written,
    ...(partial ? { totalUsers: partial.totalUsers } : {}),
    ...(snapshot
      ? { data: { snapshot: source.readAt ?? snapshot, recomputedUsers: partial?.recomputed ?? null } }
      : {}),
    ...('reason' in tried ? { fullRunReason: tried.reason } : {}),
  })
  deadline.check()
  return done
}

/**
 * An incremental run's values (calc/incremental.ts), written in place; else why not, and the
 * caller computes everyone (the run's fullRunReason): the label has no base for one, its
 * restricted runs don't pay, or too many customers changed.
 */
async function computeIncrementally(
  tx: SqlExecutor,
  t: RunTarget,
  source: SourceSql,
  compile: CompileFn,
  measured: boolean,
  catalogue?: Catalogue,
): Promise<
  | {
      inPlace: NonNullable<Awaited<ReturnType<typeof applyChanges>>>
      recomputed: number
      totalUsers: number
    }
  | { reason: FullRunReason }
> {
  if (!source.scopes || t.definition.rule.method === 'import') return { reason: 'off' }
  await lockResults(tx, t.labelId) // the base stays the label's results until this run commits
  const base = await baseOrReason(tx, t.labelId, t.definition, t.tz)
  if ('reason' in base) return base
  // A label its restricted runs don't pay for computes everyone (calc/incremental.ts restrictedLost).
  if (measured && restrictedLost(await recentTimedRuns(tx, t.labelId))) return { reason: 'slower' }
  const asOf = new Date(t.asOf)
  // A compiler that can't restrict its statement (a stand-in) leaves every customer computed.
  // Where the rule allows, the customers whose only changes are events appended since the stored
  // run's asOf get their stored value updated from the window's edges (compiler/emit-delta.ts).
  const delta = { baseAsOf: base.asOf, stored: base.table, affected: AFFECTED_TABLE, recompute: RECOMPUTE_TABLE }
  const restricted = await compile(t.definition, {
    db: tx,
    asOf,
    tz: t.tz,
    only: AFFECTED_TABLE,
    delta,
    ...(catalogue ? { catalogue } : {}),
  })
  if (restricted.only !== AFFECTED_TABLE) return { reason: 'off' }
  t.clock?.enter('collect')
  const affected = await collectAffected(tx, base, source.scopes, asOf, t.tz, restricted.delta === true)
  const totalUsers = await countUsers(tx)
  if (affected.count > INCREMENTAL_MAX_SHARE * totalUsers || affected.everyone) return { reason: 'many' }
  t.clock?.enter('compute')
  // The base was read under the results lock (lockResults above): its label_state row stands.
  const current = {
    result_table: base.table,
    data_type: t.definition.dataType,
    covered_users: base.coveredUsers,
    run_id: base.runId,
    tz: t.tz,
  }
  const inPlace = await applyChanges(tx, t.labelId, t.definition.dataType, restricted, AFFECTED_TABLE, current)
  // applyChanges wants the base's table with the run's data type: baseOrReason checked both.
  return inPlace ? { inPlace, recomputed: affected.count, totalUsers } : { reason: 'first' }
}

async function countRows(tx: SqlExecutor, table: string): Promise<number> {
  const r = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
  return Number(r.rows[0]?.n ?? 0)
}

/**
 * Shared tail of a calculation and an import: snapshot, swap, summary for reads, mark succeeded
 * (caller's transaction). Returns the run and what it produced for the server's read model.
 */
export async function finishResults(
  tx: SqlExecutor,
  t: RunTarget & {
    table: string
    coveredUsers: number
    writes?: { how: RunWrites; changedUsers: number | null }
    /** The customers, when the caller counted them in this transaction already. */
    totalUsers?: number
    /** The difference a run written in place wrote: summary and snapshot are counted from it where they can be. */
    delta?: ResultDelta
    /** What the calculation read and how many customers it computed (an incremental run's base: calc/incremental.ts). */
    data?: DataRead
    /** A calculation that computed every customer: why (docs/api.md#runs). */
    fullRunReason?: FullRunReason
  },
): Promise<RunOutcome> {
  const totalUsers = t.totalUsers ?? (await countUsers(tx))
  const s = {
    labelId: t.labelId,
    runId: t.runId,
    table: t.table,
    dataType: t.definition.dataType,
    asOf: t.asOf,
    tz: t.tz,
    totalUsers,
    coveredUsers: t.coveredUsers,
  }
  // A new table is counted once, for its summary, and its history snapshot read from that summary
  // where it holds the whole answer; a run written in place moves both by what it wrote.
  t.clock?.enter('summary')
  const counted = t.delta ? null : await summariseResults(tx, s)
  t.clock?.enter('history')
  const day = await writeSnapshot(tx, s, t.delta, counted ?? undefined)
  t.clock?.enter('summary')
  await swapResults(tx, s, { inPlace: t.writes?.how === 'changed' })
  const summary = counted ?? (t.delta && (await summariseDelta(tx, s, t.delta))) ?? (await summariseResults(tx, s))
  await storeSummary(tx, summary)
  const clocked = t.clock && (await clockedRun(tx, t.clock, t.labelId, t.runId, t.data?.recomputedUsers != null))
  return {
    run: await succeedRun(tx, t.runId, totalUsers, t.coveredUsers, t.writes, t.data, clocked, t.fullRunReason),
    results: { summary, day },
  }
}

/**
 * A calculation's phase times and, when one of its statements took far longer than in the
 * label's previous run of the same kind, that statement's plan (calc/run-clock.ts), which the
 * server's log then names.
 */
async function clockedRun(tx: SqlExecutor, clock: RunClock, labelId: string, runId: string, incremental: boolean) {
  const timings = clock.timings()
  if (!clock.hadSlowStatement) return { timings, slow: null }
  const slow = await clock.slowPlan(tx, await previousTimings(tx, labelId, runId, incremental))
  if (slow)
    console.warn(
      `engine: run ${runId} of label ${labelId}: a ${slow.phase} statement took ${(slow.ms / 1000).toFixed(1)} s, ` +
        `against ${(slow.usualMs / 1000).toFixed(1)} s for the whole phase in the label's previous run; ` +
        `its plan: GET /api/runs/${runId}/plan`,
    )
  return { timings, slow }
}
