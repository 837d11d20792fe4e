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
