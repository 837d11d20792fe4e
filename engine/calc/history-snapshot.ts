import type { LabelState } from '../read/label-state.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { distributionItems } from '../read/distribution-items.ts'
import { snapshotQuery } from '../read/distribution-query.ts'
import { compareCodePoints, type HistoryDay } from '../read/read-model.ts'

/** The label's new results as a run commits them: the same record the label-state pointer keeps. */
export type SnapshotInput = LabelState

/**
 * Writes the history snapshot of a successful run for the calendar day of asOf in the
 * workspace time zone, replacing that day's earlier snapshot (docs/semantics.md#history).
 *
 * The value key of each row is the label of the default distribution bucket, so history
 * and the default distribution chart read the same: strings per value, booleans as
 * "true"/"false", collections per element, numbers as the exact value ("12.5") when the run
 * has at most 50 distinct values else 10 equal-width bins labelled "[a,b)" (the last
 * "[a,b]"), dates per day ("YYYY-MM-DD" in the workspace time zone). Every value is kept
 * (no top N). Users and the run's total users are stored; proportion is derived on read.
 */
export async function writeSnapshot(tx: SqlExecutor, s: SnapshotInput): Promise<HistoryDay> {
  const d = await tx.query<{ day: string }>(
    `SELECT to_char($1::timestamptz AT TIME ZONE $2::text, 'YYYY-MM-DD') AS day`,
    [s.asOf, s.tz],
  )
  const day = d.rows[0]?.day as string
  const items = await distributionItems(tx, s.table, s.dataType, snapshotQuery, s.tz, s)
  await tx.query(`DELETE FROM history WHERE label_id = $1 AND date = $2::date`, [s.labelId, day])
  if (items.length > 0) {
    await tx.query(
      `INSERT INTO history (label_id, date, value, users, total_users, run_id)
       SELECT $1, $2::date, v, u, $3, $4 FROM unnest($5::text[], $6::int[]) AS t(v, u)`,
      [s.labelId, day, s.totalUsers, s.runId, items.map((i) => String(i.value)), items.map((i) => i.users)],
    )
  }
  const rows: Array<[string, number]> = items.map((i) => [String(i.value), i.users])
  return { date: day, totalUsers: s.totalUsers, items: rows.sort((a, b) => compareCodePoints(a[0], b[0])) }
}

/** Removes a label's history. */
export async function deleteHistory(tx: SqlExecutor, labelId: string): Promise<void> {
  await tx.query(`DELETE FROM history WHERE label_id = $1`, [labelId])
}
