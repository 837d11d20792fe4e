import { resultTableRe, type LabelState } from '../read/label-state.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { resultSqlType } from './value-types.ts'
import { distributeByUid } from '../storage/citus.ts'

/**
 * Creates an empty result table `res_<n>` for the data type; the primary key may come after the
 * bulk load. On Citus the table is distributed and keyed at once: DDL after the parallel insert
 * in the same transaction would need one connection per worker, and the calculation its
 * parallelism more (see storage/citus.ts).
 */
export async function newResultTable(tx: SqlExecutor, dataType: DataType, withKey: boolean): Promise<string> {
  withKey ||= tx.citus === true
  const r = await tx.query<{ n: number }>(`SELECT nextval('result_table_seq')::int AS n`)
  const table = `res_${Number(r.rows[0]?.n)}`
  await tx.exec(
    `CREATE TABLE ${table} (uid int NOT NULL${withKey ? ' PRIMARY KEY' : ''}, value ${resultSqlType[dataType]} NOT NULL)`,
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
export async function swapResults(tx: SqlExecutor, s: SwapInput): Promise<void> {
  // FOR UPDATE serialises two swaps of one label so neither drops the other's table.
  const old = await tx.query<{ result_table: string }>(
    `SELECT result_table FROM label_state WHERE label_id = $1 FOR UPDATE`,
    [s.labelId],
  )
  await tx.query(
    `INSERT INTO label_state (label_id, run_id, result_table, data_type, as_of, tz, total_users, covered_users)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (label_id) DO UPDATE SET run_id = EXCLUDED.run_id, result_table = EXCLUDED.result_table,
       data_type = EXCLUDED.data_type, as_of = EXCLUDED.as_of, tz = EXCLUDED.tz,
       total_users = EXCLUDED.total_users, covered_users = EXCLUDED.covered_users`,
    [s.labelId, s.runId, s.table, s.dataType, s.asOf, s.tz, s.totalUsers, s.coveredUsers],
  )
  const prev = old.rows[0]?.result_table
  if (prev && prev !== s.table && resultTableRe.test(prev)) await tx.exec(`DROP TABLE IF EXISTS ${prev}`)
}

/** The temporary table a run computes into when it will write only what changed (dropped at commit). */
export const runValuesTable = 'run_values'

/** Rows a run wrote to its label's result table: deleted (no value now), updated (value changed), inserted (new). */
export interface WrittenRows {
  deleted: number
  updated: number
  inserted: number
}

/**
 * Writes only the difference between the label's current results and the run's values (in
 * `run_values`, keyed by uid) into the current result table, inside the run's transaction,
 * keeping the table's name: the users with no value now are deleted, the changed values
 * updated (IS DISTINCT FROM), the new users inserted; untouched rows are not written at all
 * (no new row version, no WAL). The pointer is locked FOR UPDATE first, so a reader holding
 * it FOR SHARE (engine/read/label-state.ts) finishes on the old rows, and one reading without
 * the lock re-checks the run id afterwards (readCurrent). Returns the table, or null when the
 * label's current results are not of `dataType` (or gone): the caller then swaps in a new table.
 */
export async function applyChanges(
  tx: SqlExecutor,
  labelId: string,
  dataType: DataType,
): Promise<{ table: string; written: WrittenRows } | null> {
  const cur = await tx.query<{ result_table: string; data_type: string }>(
    `SELECT result_table, data_type FROM label_state WHERE label_id = $1 FOR UPDATE`,
    [labelId],
  )
  const table = cur.rows[0]?.result_table
  if (!table || cur.rows[0]?.data_type !== dataType || !resultTableRe.test(table)) return null
  const v = runValuesTable
  const del = await tx.query(`DELETE FROM ${table} r WHERE NOT EXISTS (SELECT 1 FROM ${v} n WHERE n.uid = r.uid)`)
  const upd = await tx.query(
    `UPDATE ${table} r SET value = n.value FROM ${v} n WHERE n.uid = r.uid AND r.value IS DISTINCT FROM n.value`,
  )
  const ins = await tx.query(
    `INSERT INTO ${table} (uid, value) SELECT n.uid, n.value FROM ${v} n WHERE NOT EXISTS (SELECT 1 FROM ${table} r WHERE r.uid = n.uid)`,
  )
  return {
    table,
    written: { deleted: del.affectedRows ?? 0, updated: upd.affectedRows ?? 0, inserted: ins.affectedRows ?? 0 },
  }
}

/** Removes a label's current results (pointer and table). */
export async function dropResults(tx: SqlExecutor, labelId: string): Promise<void> {
  await tx.query(`DELETE FROM label_summary WHERE label_id = $1`, [labelId])
  const old = await tx.query<{ result_table: string }>(
    `DELETE FROM label_state WHERE label_id = $1 RETURNING result_table`,
    [labelId],
  )
  const prev = old.rows[0]?.result_table
  if (prev && resultTableRe.test(prev)) await tx.exec(`DROP TABLE IF EXISTS ${prev}`)
}
