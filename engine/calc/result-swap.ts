import { resultTableRe, type LabelState } from '../read/label-state.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { Definition } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { coveredFilter, resultSqlType } from './value-types.ts'
import { xactLock } from '../sql-executor.ts'
import { prepareDeltaTables, type ResultDelta } from './result-delta.ts'
import { distributeByUid } from '../storage/citus.ts'
import { byKey } from '../compiler/emitter.ts'

/**
 * A result table's pages are filled to this percentage: a run written in place (applyChanges) then
 * finds room on a changed row's own page for its new version, which PostgreSQL writes as a heap-only
 * tuple (HOT: the value isn't indexed, so no new key entry). Filled to 100%, as a bulk insert leaves
 * it, every changed row moved to another page and got a new key entry. 10% holds ~18 new versions a
 * page of numbers: a run changing up to ~10% of a label's customers (2.6% on average, ~6% for
 * counts, in the refresh bench's day 2). Measured (README "Result tables keep room for their
 * changes"): the refresh's second day wrote 32% less WAL, for tables 11% larger.
 */
export const RESULT_FILLFACTOR = 90

/**
 * Creates an empty result table `res_<n>` for the data type; the primary key may come after the
 * bulk load. On Citus the table is distributed and keyed at once: DDL after the parallel insert
 * in the same transaction would need one connection per worker, and the calculation its
 * parallelism more (see storage/citus.ts). There runs swap a new table, so its pages are full.
 */
export async function newResultTable(tx: SqlExecutor, dataType: DataType, withKey: boolean): Promise<string> {
  withKey ||= tx.citus === true
  const r = await tx.query<{ n: number }>(`SELECT nextval('result_table_seq')::int AS n`)
  const table = `res_${Number(r.rows[0]?.n)}`
  await tx.exec(
    `CREATE TABLE ${table} (uid int NOT NULL${withKey ? ' PRIMARY KEY' : ''}, value ${resultSqlType[dataType]} NOT NULL)${tx.citus ? '' : ` WITH (fillfactor = ${RESULT_FILLFACTOR})`}`,
  )
  await distributeByUid(tx, table)
  return table
}

/** Adds the (uid) primary key after a bulk load: cheaper than maintaining it row by row, and it rejects a source that yields a user twice. */
export async function keyResultTable(tx: SqlExecutor, table: string): Promise<void> {
  if (tx.citus) return // keyed at creation
  await tx.exec(`ALTER TABLE ${table} ADD PRIMARY KEY (uid)`)
}

/** The label's new results as a run commits them: the same record the label-state pointer keeps. */
export type SwapInput = LabelState

/**
 * Points the label at its new result table and drops the old one, inside the caller's
 * transaction: the cost is one row update and one DROP TABLE whatever the number of rows,
 * and readers resolving through label_state see the old results until the commit.
 */
export async function swapResults(tx: SqlExecutor, s: SwapInput, opts: { inPlace?: boolean } = {}): Promise<void> {
  await lockResults(tx, s.labelId)
  // Written in place (applyChanges, under the results lock): the table stays, nothing is dropped,
  // so the pointer is only updated (one round trip fewer per run: README "Fewer round trips per run").
  if (opts.inPlace) {
    await upsertLabelState(tx, s)
    return
  }
  // FOR UPDATE serialises two swaps of one label so neither drops the other's table.
  const old = await tx.query<{ result_table: string; data_type: string }>(
    `SELECT result_table, data_type FROM label_state WHERE label_id = $1 FOR UPDATE`,
    [s.labelId],
  )
  await upsertLabelState(tx, s)
  const prev = old.rows[0]?.result_table
  if (!prev || prev === s.table || !resultTableRe.test(prev)) return
  if (old.rows[0]?.data_type === s.dataType) await releaseTable(tx, s.labelId, s.dataType, prev)
  else await tx.exec(`DROP TABLE IF EXISTS ${prev}`)
}

/** Points the label at `s` (its label_state row, created or replaced). */
async function upsertLabelState(tx: SqlExecutor, s: SwapInput): Promise<void> {
  await tx.query(
    `INSERT INTO label_state (label_id, run_id, result_table, data_type, as_of, tz, total_users, covered_users)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (label_id) DO UPDATE SET run_id = EXCLUDED.run_id, result_table = EXCLUDED.result_table,
       data_type = EXCLUDED.data_type, as_of = EXCLUDED.as_of, tz = EXCLUDED.tz,
       total_users = EXCLUDED.total_users, covered_users = EXCLUDED.covered_users`,
    [s.labelId, s.runId, s.table, s.dataType, s.asOf, s.tz, s.totalUsers, s.coveredUsers],
  )
}

/**
 * Citus: a label's spare result table (`result_spares`). Creating a distributed table
 * (`create_distributed_table`: its shards and metadata written on every node) costs ~60–100 ms
 * and dropping one ~25–45 ms whatever its rows; emptying one with TRUNCATE 10–20 ms (README
 * "Benchmarks", Citus). So on Citus a swap keeps the table it replaces as the label's spare
 * instead of dropping it, and the label's next run, import or backfilled day empties the spare and
 * fills it. A spare always has the label's current data type; a label keeps at most one (the
 * previous results, until its next run: twice the label's rows on disk). Elsewhere a replaced
 * table is dropped: creating and dropping a plain table costs a few milliseconds.
 */
export async function releaseTable(tx: SqlExecutor, labelId: string, dataType: DataType, table: string): Promise<void> {
  if (!tx.citus) {
    await tx.exec(`DROP TABLE IF EXISTS ${table}`)
    return
  }
  // A run's swap and a backfilled day of one label may release at once: the second waits for the
  // first's commit, then drops the spare the first left instead of colliding with it.
  await lockResults(tx, labelId)
  await dropSpare(tx, labelId)
  await tx.query(`INSERT INTO result_spares (label_id, result_table, data_type) VALUES ($1, $2, $3)`, [
    labelId,
    table,
    dataType,
  ])
}

/**
 * The empty table a run, an import or a backfilled day of the label fills (caller's transaction):
 * on Citus its spare when it has one of `dataType` (releaseTable), else a new table, unkeyed
 * where the key can follow the bulk load (keyResultTable).
 */
export async function resultTableFor(tx: SqlExecutor, labelId: string, dataType: DataType): Promise<string> {
  return (await takeSpareTable(tx, labelId, dataType)) ?? (await newResultTable(tx, dataType, false))
}

/**
 * Citus: takes the label's spare result table (releaseTable), emptied, when it has `dataType`
 * (a spare of another type is dropped); null when there is none. The caller's transaction owns
 * it from then: a rollback gives it back, full.
 */
async function takeSpareTable(tx: SqlExecutor, labelId: string, dataType: DataType): Promise<string | null> {
  if (!tx.citus) return null
  const r = await tx.query<{ result_table: string; data_type: string; present: boolean }>(
    `DELETE FROM result_spares WHERE label_id = $1
     RETURNING result_table, data_type, to_regclass(result_table) IS NOT NULL AS present`,
    [labelId],
  )
  const spare = r.rows[0]
  if (!spare?.present || !resultTableRe.test(spare.result_table)) return null
  if (spare.data_type !== dataType) {
    await tx.exec(`DROP TABLE IF EXISTS ${spare.result_table}`)
    return null
  }
  await tx.exec(`TRUNCATE ${spare.result_table}`)
  return spare.result_table
}

/** Drops the label's spare result table, if it has one (Citus: releaseTable). */
async function dropSpare(tx: SqlExecutor, labelId: string): Promise<void> {
  const r = await tx.query<{ result_table: string }>(
    `DELETE FROM result_spares WHERE label_id = $1 RETURNING result_table`,
    [labelId],
  )
  const t = r.rows[0]?.result_table
  if (t && resultTableRe.test(t)) await tx.exec(`DROP TABLE IF EXISTS ${t}`)
}

/** Rows a run wrote to its label's result table: deleted (no value now), updated (value changed), inserted (new). */
export interface WrittenRows {
  deleted: number
  updated: number
  inserted: number
}

/** The labels whose results lock each transaction holds (lockResults): a run takes it at up to three places. */
const resultsLocked = new WeakMap<SqlExecutor, Set<string>>()

/**
 * Serialises the writers of one label's results (runs writing in place, swaps) until the
 * transaction `tx` ends; readers never take it. Taken once per transaction: `tx` is the executor
 * of one transaction (a nested one under a savepoint has its own), and a later call in it costs no
 * round trip.
 */
export async function lockResults(tx: SqlExecutor, labelId: string): Promise<void> {
  let held = resultsLocked.get(tx)
  if (held?.has(labelId)) return
  await xactLock(tx, `results:${labelId}`)
  if (!held) resultsLocked.set(tx, (held = new Set()))
  held.add(labelId)
}

/** A label's current results, as label_state holds them (applyChanges). */
export interface CurrentResults {
  result_table: string
  data_type: string
  covered_users: number
  run_id: string
  tz: string
}
const currentResultsSql = `SELECT result_table, data_type, covered_users, run_id, tz FROM label_state WHERE label_id = $1`

/**
 * Computes the run's values and writes only their difference from the label's current results
 * into the current result table, keeping its name, in one statement of the run's transaction:
 * the source is read once into a materialised CTE (kept in memory or temporary files, never
 * WAL), then the users with no value now are deleted, the changed values updated (IS DISTINCT
 * FROM) and the new users inserted; untouched rows are not written at all (no new row version,
 * no WAL). The sub-statements see the same snapshot and touch disjoint rows. A source yielding
 * a user twice is refused (the transaction rolls back). Readers stay on the old rows until the
 * commit: one holding the pointer FOR SHARE makes swapResults (FOR UPDATE, before the commit)
 * wait; one reading without the lock re-checks the run id afterwards (readCurrent). Returns
 * null when the label's current results are not of `dataType` (or gone): the caller then fills
 * a new table and swaps.
 */
export async function applyChanges(
  tx: SqlExecutor,
  labelId: string,
  dataType: DataType,
  source: { sql: string; params: unknown[] },
  /**
   * A table of the uids the source was restricted to (an incremental run: calc/incremental.ts):
   * only those customers' stored rows are compared, the others stay as they are.
   */
  only?: string,
  /** The label's current results as the caller read them under the results lock (else read here). */
  current?: CurrentResults,
): Promise<{ table: string; coveredUsers: number; written: WrittenRows; delta: ResultDelta } | null> {
  await lockResults(tx, labelId)
  const cur = current ? { rows: [current] } : await tx.query<CurrentResults>(currentResultsSql, [labelId])
  const t = cur.rows[0]?.result_table
  if (!t || cur.rows[0]?.data_type !== dataType || !resultTableRe.test(t)) return null
  if (only !== undefined && !/^[a-z_][a-z0-9_]*$/.test(only)) throw new Error(`unexpected table ${only}`)
  // What a restricted run (`only`) reads and writes by key (compiler/emitter.ts byKey), not by a
  // scan of the table: the stored rows of the customers computed, read once (a side of the FULL
  // JOIN below, and their count), and the rows it updates (README "Changed rows updated by key").
  // The rows to delete are found by key either way.
  const keyed =
    only === undefined
      ? { cte: '', stored: t, update: '', before: 'NULL' }
      : {
          cte: `stored_rows AS MATERIALIZED (SELECT uid, value FROM ${t} WHERE ${byKey('uid', only)}),`,
          stored: 'stored_rows',
          update: ` AND ${byKey('r.uid', 'changed_rows')}`,
          before: '(SELECT count(*) FROM stored_rows)',
        }
  const delta = await prepareDeltaTables(tx, dataType)
  // One full join of the new values with the stored rows finds the difference; the writes then
  // touch only its rows, found by primary key. The difference's old and new rows are kept for
  // the summary and the history snapshot (result-delta.ts).
  const r = await tx.query<{ covered: number; deleted: number; updated: number; inserted: number; before: number }>(
    `WITH run_values AS MATERIALIZED (
       SELECT uid, value::${resultSqlType[dataType]} AS value FROM (${source.sql}) AS src WHERE ${coveredFilter(dataType)}),
     ${keyed.cte}
     diff AS MATERIALIZED (
       SELECT coalesce(n.uid, r.uid) AS uid, n.value, r.value AS old, n.uid IS NULL AS gone, r.uid IS NULL AS added
         FROM run_values n FULL JOIN ${keyed.stored} r ON r.uid = n.uid
        WHERE n.uid IS NULL OR r.uid IS NULL OR r.value IS DISTINCT FROM n.value),
     changed_rows AS (SELECT uid, value FROM diff WHERE NOT gone AND NOT added),
     d AS (DELETE FROM ${t} r WHERE r.uid = ANY (ARRAY(SELECT uid FROM diff WHERE gone)) RETURNING 1),
     u AS (UPDATE ${t} r SET value = x.value FROM changed_rows x WHERE r.uid = x.uid${keyed.update} RETURNING 1),
     i AS (INSERT INTO ${t} (uid, value) SELECT uid, value FROM diff WHERE added RETURNING 1),
     o AS (INSERT INTO ${delta.old} (uid, value) SELECT uid, old FROM diff WHERE NOT added),
     w AS (INSERT INTO ${delta.new} (uid, value) SELECT uid, value FROM diff WHERE NOT gone)
     SELECT (SELECT count(*) FROM run_values)::int AS covered, (SELECT count(*) FROM d)::int AS deleted,
       ${keyed.before}::int AS before,
       (SELECT count(*) FROM u)::int AS updated, (SELECT count(*) FROM i)::int AS inserted`,
    source.params,
  )
  const row = r.rows[0] as NonNullable<(typeof r.rows)[0]>
  const storedBefore = Number(only === undefined ? cur.rows[0]?.covered_users : row.before)
  // The compared rows are now stored − deleted + inserted, one per user: fewer than the values
  // computed means the source yielded a user twice (checked for real before refusing).
  if (row.covered !== storedBefore - row.deleted + row.inserted) {
    const twice = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM (${source.sql}) AS src WHERE ${coveredFilter(dataType)} GROUP BY uid HAVING count(*) > 1) x`,
      source.params,
    )
    const n = Number(twice.rows[0]?.n ?? 0)
    if (n > 0) throw new Error(`the calculation yielded ${n} users more than once`)
  }
  return {
    table: t,
    coveredUsers: only === undefined ? row.covered : Number(cur.rows[0]?.covered_users) - row.deleted + row.inserted,
    written: { deleted: row.deleted, updated: row.updated, inserted: row.inserted },
    delta: { baseRunId: String(cur.rows[0]?.run_id), baseTz: String(cur.rows[0]?.tz), ...delta },
  }
}

/**
 * How runs write their results (LABELS_RESULT_WRITES): `swap` fills a new table and swaps it in;
 * `changed` writes only the customers whose value changed into the label's table (applyChanges);
 * `auto` chooses per run from the label's last run (chooseResultWrites).
 */
export type ResultWrites = 'swap' | 'changed' | 'auto'

/** How one run wrote its results, as its run record keeps it. */
export type RunWrites = 'swap' | 'changed'

/**
 * `auto` writes in place when the label's last run changed at most this share of its covered
 * customers: above ~2–5% filling a new table is faster on both engines (README "Benchmarks",
 * tests/engine/calc/measure-write-changed.ts).
 */
export const AUTO_CHANGED_MAX = 0.02

/**
 * The way this run writes (caller's transaction): `changed` writes in place (applyChanges still
 * falls back to a swap for a first run or a new data type), `swap` a new table. `auto` writes in
 * place only when the label's current results come from a run of the same data type and rule
 * whose count of changed customers is known and at most AUTO_CHANGED_MAX of its covered ones;
 * it swaps for a first run, after a rule or data type edit, or when that count is unknown (a run
 * before this count was kept, an import, a `swap`-mode run).
 */
export async function chooseResultWrites(
  tx: SqlExecutor,
  labelId: string,
  def: Definition,
  mode: ResultWrites,
): Promise<RunWrites> {
  if (mode !== 'auto') return mode
  const r = await tx.query<{ data_type: string; covered: number; changed: number | null; same_rule: boolean | null }>(
    `SELECT s.data_type, s.covered_users AS covered, r.changed_users AS changed, r.definition->'rule' = $2::jsonb AS same_rule
       FROM label_state s LEFT JOIN runs r ON r.id = s.run_id WHERE s.label_id = $1`,
    [labelId, JSON.stringify(def.rule)],
  )
  const last = r.rows[0]
  if (!last || last.data_type !== def.dataType || last.same_rule !== true || last.changed === null) return 'swap'
  return Number(last.changed) <= AUTO_CHANGED_MAX * Math.max(Number(last.covered), 1) ? 'changed' : 'swap'
}

/**
 * How many customers' values differ between the label's current results and `table`, the new
 * table a swap is about to point it at (caller's transaction, before swapResults): those with a
 * value in one only, or a different value. All of `coveredUsers` for a first run; null (not
 * counted) when the current results have another data type.
 */
export async function countChanged(
  tx: SqlExecutor,
  labelId: string,
  dataType: DataType,
  table: string,
  coveredUsers: number,
): Promise<number | null> {
  await lockResults(tx, labelId)
  const cur = await tx.query<{ result_table: string; data_type: string }>(
    `SELECT result_table, data_type FROM label_state WHERE label_id = $1`,
    [labelId],
  )
  const old = cur.rows[0]
  if (!old) return coveredUsers
  if (old.data_type !== dataType || !resultTableRe.test(old.result_table)) return null
  const r = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} n FULL JOIN ${old.result_table} o ON o.uid = n.uid
      WHERE n.uid IS NULL OR o.uid IS NULL OR n.value IS DISTINCT FROM o.value`,
  )
  return Number(r.rows[0]?.n ?? 0)
}

/** Removes a label's current results (pointer and table) and its spare table. */
export async function dropResults(tx: SqlExecutor, labelId: string): Promise<void> {
  await tx.query(`DELETE FROM label_summary WHERE label_id = $1`, [labelId])
  const old = await tx.query<{ result_table: string }>(
    `DELETE FROM label_state WHERE label_id = $1 RETURNING result_table`,
    [labelId],
  )
  const prev = old.rows[0]?.result_table
  if (prev && resultTableRe.test(prev)) await tx.exec(`DROP TABLE IF EXISTS ${prev}`)
  await dropSpare(tx, labelId)
}
