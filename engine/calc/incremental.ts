import type { Definition, FullRunReason } from '../api.ts'
import { incrementalLimits } from '../../shared/limits.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import type { ScopeRead } from '../compiler/compile-rule.ts'
import { windowEdgesSql } from '../compiler/window-edges.ts'
import { resultTableRe } from '../read/label-state.ts'
import { EVERYONE, holdChangesLog, stillLogged, tracksChanges } from '../storage/changes.ts'
import { addTimeIndexes, unindexedByTime } from '../storage/extend.ts'

/**
 * Incremental runs (issue 10, "incremental windows"): a label's value for a customer depends only
 * on that customer's profile and their events inside the rule's windows, and on nothing else of
 * the asOf (Emitter.window is the only place a compiled statement reads it). So a run of a label
 * whose current results come from a run of the same rule, data type and time zone needs to
 * compute only
 *  - the customers whose rows of users or of an event table the statement reads changed since
 *    that run read the data (storage/changes.ts: late events, a re-ingested day, new, deleted or
 *    updated users), but for events appended at or after that run's asOf, read by the next point, and
 *  - the customers with an event in the part of a window that differs between the two asOfs (the
 *    day that entered a `lastDays` window and the day that left it: compiler/window-edges.ts)
 *    that one of the scopes reading that window keeps (its filters);
 * every other customer's value is the one stored. Those customers are computed by the label's own
 * statement restricted to them (`uid IN (…)`), and only the values that differ are written in
 * place (result-swap.ts applyChanges). The results equal a full run's; the tests compare them
 * (tests/engine/calc/incremental.test.ts).
 */

/**
 * LABELS_INCREMENTAL: `true` (on) restricts a label's runs to the changed customers unless its
 * last restricted run took longer than a full one (restrictedLost); `always` regardless of those
 * times (tests and benches that compare the two kinds of run); `false` (off) computes everyone.
 */
export type Incremental = boolean | 'always'

/** The temporary table of the customers an incremental run computes (one per connection, emptied at each commit). */
export const AFFECTED_TABLE = 'labels_affected'

/**
 * Of those, the customers a delta statement (compiler/emit-delta.ts) computes from their events:
 * changed otherwise than by events appended at or after the stored run's asOf (storage/changes.ts
 * `since`). The others get their stored value updated from the window's edges.
 */
export const RECOMPUTE_TABLE = 'labels_recompute'

/**
 * Above this share of all customers an incremental run computes everyone instead: a restriction
 * to most customers costs a full run plus the look-ups. A choice, not measured (README "Benchmarks",
 * incremental runs).
 */
export const INCREMENTAL_MAX_SHARE = incrementalLimits.maxShare

/**
 * A label whose last restricted run took longer than its last run over every customer computes
 * everyone, until that restricted run is older than this many of the label's runs: then one is
 * tried again (the data, and so the share of customers a day changes, move). At 100M events a
 * restricted run read its windows whole and cost 0.8× a full run's statement plus the collection
 * of the changed customers, and small labels lost up to 5× (README "Benchmarks", 100M events).
 */
export const RESTRICTED_RETRY_RUNS = 7

/** One of a label's recent calculation runs: restricted (incremental) or over everyone, and how long it took. */
export interface TimedRun {
  restricted: boolean
  ms: number
}

/**
 * Whether the label's next run should compute everyone rather than the changed customers: its
 * last restricted run among `recent` (newest first, at most RESTRICTED_RETRY_RUNS) took longer
 * than its last run over everyone there. No restricted run there, or no full one: try restricted.
 */
export function restrictedLost(recent: ReadonlyArray<TimedRun>): boolean {
  const window = recent.slice(0, RESTRICTED_RETRY_RUNS)
  const restricted = window.find((r) => r.restricted)
  const full = window.find((r) => !r.restricted)
  return !!restricted && !!full && restricted.ms > full.ms
}

/** The label's recent calculation runs since incremental runs began (those record their snapshot), newest first. */
export async function recentTimedRuns(tx: SqlExecutor, labelId: string): Promise<TimedRun[]> {
  const r = await tx.query<{ restricted: boolean; ms: number }>(
    `SELECT recomputed_users IS NOT NULL AS restricted,
            (extract(epoch FROM finished_at - started_at) * 1000)::float8 AS ms
       FROM runs
      WHERE label_id = $1 AND status = 'succeeded' AND data_snapshot IS NOT NULL AND finished_at IS NOT NULL
        AND started_at IS NOT NULL
      ORDER BY created_at DESC, id DESC LIMIT ${RESTRICTED_RETRY_RUNS}`,
    [labelId],
  )
  return r.rows.map((x) => ({ restricted: x.restricted, ms: Number(x.ms) }))
}

/**
 * Before a run of a label that may run incrementally (caller, outside the run's transaction and
 * before it starts): if the label's results come from a run that recorded its snapshot (so this
 * run can be incremental) and an event table has no index by time yet, builds those indexes
 * (storage/extend.ts addTimeIndexes: the one-off cost ingestion no longer pays). One query when
 * there is nothing to build. Returns the tables indexed.
 */
export async function prepareIncremental(db: SqlExecutor, labelId: string): Promise<string[]> {
  if (db.citus) return []
  const r = await db.query<{ build: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM label_state s JOIN runs r ON r.id = s.run_id
                     WHERE s.label_id = $1 AND r.data_snapshot IS NOT NULL)
        AND EXISTS (${unindexedByTime}) AS build`,
    [labelId],
  )
  return r.rows[0]?.build ? (await addTimeIndexes(db)).tables : []
}

/** The run whose results an incremental run starts from. */
export interface IncrementalBase {
  runId: string
  asOf: Date
  snapshot: string
  /** The result table holding them. */
  table: string
  /** Their covered customers (label_state), so that the run's write need not read the row again. */
  coveredUsers: number
}

/**
 * The snapshot recorded as what this run's calculation read, taken before that calculation
 * (caller's transaction; it then holds the change log against pruning until it ends). The
 * calculation's statements come after it and see at least as much; the label's next run treats
 * whatever this snapshot doesn't see as unread, so a change the calculation did read is at worst
 * computed again, never missed. Null where no change log is kept (Citus).
 */
export async function takeDataSnapshot(tx: SqlExecutor): Promise<string | null> {
  if (!tracksChanges(tx)) return null
  await holdChangesLog(tx)
  return currentSnapshot(tx)
}

/**
 * The database's current snapshot, as takeDataSnapshot records it, without holding the change log:
 * taken before work whose reads a later run's values come from (shared scans: calc/refresh.ts).
 * Null where no change log is kept. A log pruned past it meanwhile makes the label's next run
 * compute everyone (stillLogged), never miss a change.
 */
export async function currentSnapshot(db: SqlExecutor): Promise<string | null> {
  if (!tracksChanges(db)) return null
  const r = await db.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`)
  return r.rows[0]?.s ?? null
}

/**
 * The label's current results as a base for an incremental run: from a run that recorded its
 * snapshot, of the same rule, data type and time zone, into a result table that is still there.
 */
export async function incrementalBase(
  tx: SqlExecutor,
  labelId: string,
  def: Definition,
  tz: string,
): Promise<IncrementalBase | null> {
  const b = await baseOrReason(tx, labelId, def, tz)
  return 'reason' in b ? null : b
}

/** incrementalBase, or why there is none (the run's fullRunReason: docs/api.md#runs). */
export async function baseOrReason(
  tx: SqlExecutor,
  labelId: string,
  def: Definition,
  tz: string,
): Promise<IncrementalBase | { reason: FullRunReason }> {
  const r = await tx.query<{
    run_id: string
    as_of: Date | string
    snapshot: string | null
    data_type: string
    tz: string
    result_table: string
    covered_users: number
    same_rule: boolean | null
    logged: boolean | null
  }>(
    `SELECT s.run_id, r.as_of, r.data_snapshot AS snapshot, s.data_type, s.tz, s.result_table, s.covered_users,
            r.definition->'rule' = $2::jsonb AS same_rule, ${stillLogged('r.data_snapshot')} AS logged
       FROM label_state s JOIN runs r ON r.id = s.run_id WHERE s.label_id = $1`,
    [labelId, JSON.stringify(def.rule)],
  )
  const b = r.rows[0]
  if (!b) return { reason: 'first' }
  if (b.same_rule !== true || b.data_type !== def.dataType || b.tz !== tz) return { reason: 'rule' }
  // Results whose run recorded no snapshot (an older engine's) can't be started from either.
  if (!b.snapshot || !resultTableRe.test(b.result_table)) return { reason: 'first' }
  // The log was pruned past its snapshot (the label's results are older than CHANGES_KEPT_DAYS).
  if (b.logged !== true) return { reason: 'stale' }
  return {
    runId: b.run_id,
    asOf: new Date(b.as_of),
    snapshot: b.snapshot,
    table: b.result_table,
    coveredUsers: Number(b.covered_users),
  }
}

/**
 * The temporary table of uids `name`, created if missing and emptied, in one round trip (README
 * "Fewer round trips per run"): one per connection, emptied at every commit (creating and dropping
 * one per run cost ~3 ms), and emptied here unless an earlier statement of this transaction filled it.
 * No primary key: its uids are made distinct as they are written, and a key built row by row cost
 * more than the rest of the collection (README "Benchmarks", 100M events).
 */
function emptyUidTable(name: string): string {
  return `CREATE TEMP TABLE IF NOT EXISTS ${name} (uid int NOT NULL) ON COMMIT DELETE ROWS; DELETE FROM ${name}`
}

/**
 * Fills AFFECTED_TABLE (emptied first) with the customers the run must compute
 * from `base`: changed since its snapshot, or with events in the windows' changed part; with
 * `recompute` (a delta statement: compiler/emit-delta.ts), RECOMPUTE_TABLE too, with those of
 * them changed otherwise than by events appended at or after `base.asOf`. Returns how many, and
 * whether a table was truncated since (storage/changes.ts EVERYONE: compute everyone).
 */
export async function collectAffected(
  tx: SqlExecutor,
  base: IncrementalBase,
  scopes: ReadonlyArray<ScopeRead>,
  asOf: Date,
  tz: string,
  recompute = false,
): Promise<{ count: number; everyone: boolean; recomputed?: number }> {
  await tx.exec(emptyUidTable(AFFECTED_TABLE))
  const edges = windowEdgesSql(scopes, base.asOf, asOf, tz)
  const n = (edges?.params.length ?? 0) + 1
  // The changes since the base's snapshot to users and the event tables the statement reads
  // (storage/changes.ts; rows logged before tables were named count for every label).
  const changedSince = (k: number) => `SELECT uid FROM data_changes WHERE xid >= pg_snapshot_xmin($${k}::pg_snapshot)
    AND NOT pg_visible_in_snapshot(xid, $${k}::pg_snapshot) AND (tbl IS NULL OR tbl = 'users' OR tbl = ANY($${k + 1}::text[]))`
  const tables = [...new Set(scopes.map((s) => s.table))]
  // Events appended at or after the base's asOf are read by the edges above, filters applied.
  const changed = `${changedSince(n)} AND (since IS NULL OR since < $${n + 2}::timestamptz)`
  // The planner can't estimate the distinct uids of this union (it assumes 200): a hash aggregate
  // sized for 200 groups spilled into 345,724 batches at 100M events (273 s for 867k rows), and
  // ON CONFLICT into a keyed table cost 7–10 s per million uids (random order, key in temp
  // buffers). A sort spills gracefully whatever the count: ~1 s per million. So the hash
  // aggregate is off for this one statement, and back to the session's setting after it.
  const hashagg = await tx.query<{ v: string }>(
    `SELECT current_setting('enable_hashagg') AS v, set_config('enable_hashagg', 'off', true)`,
  )
  const r = await tx.query(
    `INSERT INTO ${AFFECTED_TABLE} (uid) SELECT DISTINCT uid FROM (${edges ? `${edges.sql} UNION ALL ` : ''}${changed}) x`,
    [...(edges?.params ?? []), base.snapshot, tables, base.asOf.toISOString()],
  )
  let recomputed: number | undefined
  if (recompute) {
    await tx.exec(emptyUidTable(RECOMPUTE_TABLE))
    const again = await tx.query(
      `INSERT INTO ${RECOMPUTE_TABLE} (uid) SELECT DISTINCT uid FROM (${changedSince(1)}
         AND (since IS NULL OR since < $3::timestamptz)) x`,
      [base.snapshot, tables, base.asOf.toISOString()],
    )
    recomputed = again.affectedRows ?? 0
    await tx.exec(`ANALYZE ${RECOMPUTE_TABLE}`)
  }
  const count = r.affectedRows ?? 0
  const all = await tx.query<{ everyone: boolean }>(
    `SELECT set_config('enable_hashagg', $1, true), EXISTS (SELECT 1 FROM ${AFFECTED_TABLE} WHERE uid = ${EVERYONE}) AS everyone`,
    [hashagg.rows[0]?.v ?? 'on'],
  )
  if (all.rows[0]?.everyone) return { count, everyone: true }
  // The planner has no statistics of a new table: without them it guesses its size from pages.
  await tx.exec(`ANALYZE ${AFFECTED_TABLE}`)
  return { count, everyone: false, ...(recomputed !== undefined ? { recomputed } : {}) }
}
