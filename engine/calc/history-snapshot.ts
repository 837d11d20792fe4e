import type { LabelState } from '../read/label-state.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { distributionItems } from '../read/distribution-items.ts'
import { snapshotQuery, type ResolvedQuery } from '../read/distribution-query.ts'
import type { HistoryBuckets } from '../api.ts'
import type { HistoryDay } from '../read/read-model.ts'
import { sortDayItems } from '../read/value-order.ts'
import { bucketingOf, ensureBuckets, writeHistoryDay } from './history-buckets.ts'
import { snapshotItemsDelta, type ResultDelta } from './result-delta.ts'
import { summaryBuckets, type ResultSummary } from '../read/result-summary.ts'

/**
 * The label's new results as a run commits them: the same record the label-state pointer keeps;
 * `date` (YYYY-MM-DD) overrides the day of asOf (a backfill: as of the end of that day).
 */
export type SnapshotInput = LabelState & { date?: string }

/**
 * Writes the history snapshot of a successful run for the calendar day of asOf in the
 * workspace time zone, replacing that day's earlier snapshot (docs/semantics.md#history).
 *
 * The value key of each row is the label of a distribution bucket: strings per value, booleans
 * as "true"/"false", collections per element. Numbers and dates are counted in the label's fixed
 * buckets (engine/calc/history-buckets.ts), the same every day: numbers in the intervals
 * "(-∞,b0)" "[b0,b1)" … "[bn,+∞)" (every interval kept, 0 users included), dates per bucket start
 * ("YYYY-MM-DD" in the workspace time zone) at the fixed granularity. The buckets are fixed from
 * the first result with values; before that (no value yet) a day is keyed as the default
 * distribution. Every value is kept (no top N). Users and the run's total users are stored;
 * proportion is derived on read.
 *
 * `summary`: the summary of the same results, already counted (a run that filled a new table):
 * the snapshot is read from it where it holds the whole answer (every group of a text space, every
 * distinct number), instead of grouping the result table a second time, and a number label's first
 * buckets are fixed from its distinct values (history-buckets.ts ensureBuckets).
 */
export async function writeSnapshot(
  tx: SqlExecutor,
  s: SnapshotInput,
  delta?: ResultDelta,
  summary?: ResultSummary,
): Promise<HistoryDay> {
  const d = s.date
    ? null
    : await tx.query<{ day: string }>(`SELECT to_char($1::timestamptz AT TIME ZONE $2::text, 'YYYY-MM-DD') AS day`, [
        s.asOf,
        s.tz,
      ])
  const day = s.date ?? (d?.rows[0]?.day as string)
  const same = summary && summary.runId === s.runId ? summary : undefined
  // A first run's number buckets are fixed from the summary's distinct values when it kept them.
  const buckets = await ensureBuckets(tx, s.labelId, s.table, s.dataType, same?.numbers)
  const query = historyQuery(buckets)
  const bucketing = buckets ? bucketingOf(buckets) : null
  const counted = same ? summaryBuckets(same, query) : null
  // A run written in place: the snapshot of the run it changed, moved by what it wrote (result-delta.ts).
  const rows =
    (delta && (await snapshotItemsDelta(tx, s, delta, query, bucketing))) ??
    (counted ?? (await distributionItems(tx, s.table, s.dataType, query, s.tz, s))).map(
      (i) => [String(i.value), i.users] as [string, number],
    )
  await writeHistoryDay(tx, s.labelId, day, { totalUsers: s.totalUsers, runId: s.runId, bucketing, items: rows })
  return {
    date: day,
    totalUsers: s.totalUsers,
    items: sortDayItems(rows),
    ...(buckets?.rewroteDays ? { rewroteDays: true as const } : {}),
  }
}

/** The distribution query of a history snapshot in the label's fixed buckets (none yet: the default one). */
export function historyQuery(buckets: HistoryBuckets | null): ResolvedQuery {
  return buckets
    ? { ...snapshotQuery, boundaries: buckets.boundaries, granularity: buckets.granularity ?? 'day' }
    : snapshotQuery
}

/** Removes a label's history. */
export async function deleteHistory(tx: SqlExecutor, labelId: string): Promise<void> {
  await tx.query(`DELETE FROM history WHERE label_id = $1`, [labelId])
}
