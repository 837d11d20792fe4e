import type { HistoryQuery, HistoryResult, Run } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { sortDayItems } from './value-order.ts'
import { resolveHistoryQuery } from './history.ts'
import { loadAllLabelStates, loadLabelState, type LabelState } from './label-state.ts'
import { summariseResults, type ResultSummary } from './result-summary.ts'

/** One day's history snapshot: the run's total users and [value key, users] in value-order.ts historyValueOrder of the key. */
export interface HistoryDay {
  date: string
  totalUsers: number
  items: Array<[string, number]>
  /** Writing it counted the label's other days again (its number buckets were fixed): read them anew. */
  rewroteDays?: true
}

/** What a successful run (or import) produced for reads: its summary and the day it wrote to history. */
export interface RunResults {
  summary: ResultSummary
  day: HistoryDay
}

/** A run as it ended, with what it produced when it succeeded. */
export interface RunOutcome {
  run: Run
  results: RunResults | null
}

/**
 * Everything the server keeps in memory to answer a label's result reads: the current run's
 * summary (null: no results) and every history day, oldest first (null: more than
 * maxHistoryRows rows, read from the database instead).
 */
export interface LabelReadModel {
  labelId: string
  summary: ResultSummary | null
  history: HistoryDay[] | null
}

/** History rows of one label kept in memory at most (a string label with 1000 values for 50 days). */
export const maxHistoryRows = 50_000

/** Writes the summary of the label's new results (inside the run's transaction). */
export async function storeSummary(tx: SqlExecutor, s: ResultSummary): Promise<void> {
  await tx.query(
    `INSERT INTO label_summary (label_id, run_id, summary) VALUES ($1, $2, $3)
     ON CONFLICT (label_id) DO UPDATE SET run_id = EXCLUDED.run_id, summary = EXCLUDED.summary`,
    [s.labelId, s.runId, JSON.stringify(s)],
  )
}

/** The summary of the label's current results: stored, or computed now (results older than summaries) and stored. */
async function currentSummary(
  db: SqlExecutor,
  state: LabelState,
  stored: Map<string, string>,
): Promise<ResultSummary | null> {
  const text = stored.get(state.labelId)
  if (text !== undefined) return JSON.parse(text) as ResultSummary
  return db.transaction(async (tx) => {
    const s = await loadLabelState(tx, state.labelId, true)
    if (!s) return null
    const summary = await summariseResults(tx, s)
    await storeSummary(tx, summary)
    return summary
  })
}

/** History days of labels (each label's rows in read order), skipping labels with more than maxHistoryRows rows. */
async function historyDays(
  db: SqlExecutor,
  labelIds: string[] | null,
): Promise<{ days: Map<string, HistoryDay[]>; tooLong: Set<string> }> {
  const filter = labelIds ? `WHERE label_id = ANY($1::text[])` : ''
  const params = labelIds ? [labelIds] : []
  const big = await db.query<{ label_id: string }>(
    `SELECT label_id FROM history ${filter} GROUP BY label_id HAVING count(*) > ${maxHistoryRows}`,
    params,
  )
  const tooLong = new Set(big.rows.map((r) => r.label_id))
  const r = await db.query<{ label_id: string; date: string; value: string; users: number; total_users: number }>(
    `SELECT label_id, to_char(date, 'YYYY-MM-DD') AS date, value, users, total_users FROM history
      WHERE ${labelIds ? 'label_id = ANY($1::text[])' : 'true'} AND label_id <> ALL($${params.length + 1}::text[])
      ORDER BY label_id, date, value COLLATE "C"`,
    [...params, [...tooLong]],
  )
  const days = new Map<string, HistoryDay[]>()
  for (const row of r.rows) {
    let list = days.get(row.label_id)
    if (!list) days.set(row.label_id, (list = []))
    let last = list[list.length - 1]
    if (!last || last.date !== row.date) list.push((last = { date: row.date, totalUsers: row.total_users, items: [] }))
    last.items.push([row.value, row.users])
  }
  // Read in code-point order; a number label's days in numeric order, as a run writes them.
  for (const list of days.values()) for (const d of list) sortDayItems(d.items)
  return { days, tooLong }
}

/**
 * The read models of the given labels (all labels with results or history when `labelIds` is
 * null), for the server to keep in memory. Results computed before summaries existed are
 * summarised once here and stored.
 */
export async function loadReadModels(db: SqlExecutor, labelIds: string[] | null): Promise<LabelReadModel[]> {
  const states = labelIds
    ? (await Promise.all(labelIds.map((id) => loadLabelState(db, id)))).filter((s): s is LabelState => s !== null)
    : await loadAllLabelStates(db)
  const stored = new Map<string, string>()
  const r = await db.query<{ label_id: string; summary: string }>(
    `SELECT s.label_id, s.summary FROM label_summary s JOIN label_state l ON l.label_id = s.label_id AND l.run_id = s.run_id
      WHERE $1::text[] IS NULL OR s.label_id = ANY($1::text[])`,
    [labelIds],
  )
  for (const row of r.rows) stored.set(row.label_id, row.summary)
  const { days, tooLong } = await historyDays(db, labelIds)
  const ids = new Set([...(labelIds ?? []), ...states.map((s) => s.labelId), ...days.keys(), ...tooLong])
  const byLabel = new Map(states.map((s) => [s.labelId, s]))
  const out: LabelReadModel[] = []
  for (const id of ids) {
    const state = byLabel.get(id)
    const summary = state ? await currentSummary(db, state, stored) : null
    out.push({ labelId: id, summary, history: tooLong.has(id) ? null : (days.get(id) ?? []) })
  }
  return out
}

/** Days with `day` put in place (replacing that date), oldest first; null when past maxHistoryRows. */
export function withDay(days: HistoryDay[], day: HistoryDay): HistoryDay[] | null {
  const out = days.filter((d) => d.date !== day.date)
  if (day.items.length > 0) out.push(day)
  out.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0))
  const rows = out.reduce((n, d) => n + d.items.length, 0)
  return rows > maxHistoryRows ? null : out
}

/** The history read (engine/read/history.ts) answered from a label's days. */
export function historyFromDays(labelId: string, days: HistoryDay[], query: HistoryQuery | undefined): HistoryResult {
  const { from, to, values } = resolveHistoryQuery(query)
  const keep = values ? new Set(values) : null
  const items: HistoryResult['items'] = []
  for (const d of days) {
    if ((from && d.date < from) || (to && d.date > to)) continue
    for (const [value, users] of d.items) {
      if (keep && !keep.has(value)) continue
      items.push({ date: d.date, value, users, proportion: d.totalUsers > 0 ? users / d.totalUsers : 0 })
    }
  }
  return { labelId, items }
}
