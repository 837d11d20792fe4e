import { expect } from 'vitest'
import { loadBuckets } from '../../engine/calc/history-buckets.ts'
import { historyQuery } from '../../engine/calc/history-snapshot.ts'
import { distributionItems } from '../../engine/read/distribution-items.ts'
import { loadLabelState } from '../../engine/read/label-state.ts'
import { summariseResults, type ResultSummary } from '../../engine/read/result-summary.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'

/** Buckets whose order the summary leaves to its readers (booleans, exact numbers), ordered by key. */
function normalised(s: ResultSummary): ResultSummary {
  const key = (k: unknown) => (typeof k === 'number' ? k : String(k))
  const buckets =
    s.buckets && [...s.buckets].sort((a, b) => (key(a.key) < key(b.key) ? -1 : key(a.key) > key(b.key) ? 1 : 0))
  return { ...s, ...(buckets ? { buckets } : {}) }
}

/** The label's stored summary (label_summary). */
export async function storedSummary(db: SqlExecutor, labelId: string): Promise<ResultSummary | null> {
  const r = await db.query<{ summary: ResultSummary | string }>(
    `SELECT summary FROM label_summary WHERE label_id = $1`,
    [labelId],
  )
  const raw = r.rows[0]?.summary
  return raw === undefined ? null : typeof raw === 'string' ? (JSON.parse(raw) as ResultSummary) : raw
}

/**
 * Checks that the label's stored summary and the history snapshot of its current run are what
 * counting its whole result table gives (however the run counted them: engine/calc/result-delta.ts).
 */
export async function expectCountsOfTable(db: SqlExecutor, labelId: string, what = labelId): Promise<void> {
  const state = await loadLabelState(db, labelId)
  expect(state, `${what}: results`).not.toBeNull()
  if (!state) return
  const stored = await storedSummary(db, labelId)
  expect(stored && normalised(stored), `${what}: summary`).toEqual(normalised(await summariseResults(db, state)))
  const query = historyQuery(await loadBuckets(db, labelId, state.dataType))
  const items = await distributionItems(db, state.table, state.dataType, query, state.tz, state)
  const h = await db.query<{ value: string; users: number }>(
    `SELECT value, users FROM history WHERE label_id = $1 AND run_id = $2`,
    [labelId, state.runId],
  )
  const byValue = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  expect(
    h.rows.map((r) => [r.value, Number(r.users)] as [string, number]).sort(byValue),
    `${what}: history snapshot`,
  ).toEqual(items.map((i) => [String(i.value), i.users] as [string, number]).sort(byValue))
}
