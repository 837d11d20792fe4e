import type { Definition, HistoryDay } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { checkBackfillable } from './backfill-rules.ts'
import { backfillStep } from './backfill-jobs.ts'
import { fillResultTable, type CompileFn } from './execute-run.ts'
import { writeSnapshot } from './history-snapshot.ts'
import { releaseTable } from './result-swap.ts'
import { Deadline, isStatementTimeout, timeoutError } from './timeout.ts'
import { countUsers } from '../storage/user-count.ts'

/** One past day of a label's history to calculate. */
export interface BackfillDayInput {
  labelId: string
  /** The label's definition now: its rule as of that day. */
  definition: Definition
  /** The calendar day YYYY-MM-DD (workspace time zone). */
  date: string
  tz: string
  /** The backfill's id: the history rows' run_id. */
  jobId: string
  /**
   * The day's place in the stored job (engine/calc/backfill-jobs.ts), 0 for the newest: the job's
   * `done` moves to step + 1 in the day's transaction, which fails unless the job is running with
   * `step` days done (cancelled, or taken over elsewhere). Omitted: no stored job.
   */
  step?: number
  timeoutMs?: number
}

/**
 * Calculates a label as of the end of a past day (asOf = the next midnight in the workspace time
 * zone: every event of that day counts) and writes that day's history snapshot in the label's
 * fixed buckets, replacing the day's earlier snapshot. Only history is written: the label's
 * results, summary and runs stay as they are. One transaction; a failure writes nothing.
 */
export async function backfillDay(db: SqlExecutor, input: BackfillDayInput, compile: CompileFn): Promise<HistoryDay> {
  checkBackfillable(input.definition, input.labelId)
  const deadline = new Deadline(input.timeoutMs)
  const a = await db.query<{ as_of: Date | string }>(
    `SELECT (($1::date + 1)::timestamp AT TIME ZONE $2::text) AS as_of`,
    [input.date, input.tz],
  )
  const asOf = new Date(a.rows[0]?.as_of as Date | string)
  try {
    const source = await compile(input.definition, { db, asOf, tz: input.tz })
    return await db.transaction(async (tx) => {
      await deadline.apply(tx)
      const dataType = input.definition.dataType
      const { table, coveredUsers } = await fillResultTable(tx, input.labelId, dataType, source, deadline)
      const day = await writeSnapshot(tx, {
        labelId: input.labelId,
        runId: input.jobId,
        table,
        dataType,
        asOf: asOf.toISOString(),
        tz: input.tz,
        totalUsers: await countUsers(tx),
        coveredUsers,
        date: input.date,
      })
      await releaseTable(tx, input.labelId, dataType, table)
      // Last, so a cancel committed meanwhile rolls the day back (and never waits for it).
      if (input.step !== undefined) await backfillStep(tx, input.jobId, input.step)
      return day
    })
  } catch (e) {
    throw isStatementTimeout(e) && input.timeoutMs !== undefined ? timeoutError(input.timeoutMs) : e
  }
}
