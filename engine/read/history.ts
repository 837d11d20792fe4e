import type { HistoryQuery, HistoryResult } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'
import { inHistoryOrder } from './value-order.ts'

const dayRe = /^(\d{4})-(\d{2})-(\d{2})$/

/** A real calendar date YYYY-MM-DD, else bad_request at path. */
function day(v: unknown, path: string): string {
  const m = typeof v === 'string' ? dayRe.exec(v) : null
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null
  if (!m || !d || d.toISOString().slice(0, 10) !== v)
    throw new LabelsError('bad_request', `${path.slice(1)} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`, path)
  return v as string
}

/** Values to keep: one string or a list (a repeated query parameter). */
function values(v: unknown): string[] | null {
  if (v === undefined || v === null) return null
  const list = Array.isArray(v) ? v : [v]
  if (list.length > 1000) throw new LabelsError('bad_request', 'at most 1000 values', '/values')
  list.forEach((x, i) => {
    if (typeof x !== 'string')
      throw new LabelsError('bad_request', `value must be a string, got ${JSON.stringify(x)}`, `/values/${i}`)
  })
  return list.length > 0 ? (list as string[]) : null
}

/** A history query checked: inclusive days (or null) and the value keys to keep (or null: all). */
export function resolveHistoryQuery(query: HistoryQuery | undefined): {
  from: string | null
  to: string | null
  values: string[] | null
} {
  const q = query ?? {}
  const from = q.from !== undefined && q.from !== '' ? day(q.from, '/from') : null
  const to = q.to !== undefined && q.to !== '' ? day(q.to, '/to') : null
  if (from && to && from > to) throw new LabelsError('bad_request', `from ${from} is after to ${to}`, '/from')
  return { from, to, values: values(q.values) }
}

/**
 * A label's history: per snapshot day and value, users and proportion (users / total users
 * of that day's run). from/to are inclusive calendar dates; values keep only those value
 * keys (see engine/calc/history-snapshot.ts for how numbers and dates are keyed).
 * Ordered by inHistoryOrder.
 */
export async function labelHistory(
  db: SqlExecutor,
  labelId: string,
  query: HistoryQuery | undefined,
): Promise<HistoryResult> {
  const { from, to, values: vals } = resolveHistoryQuery(query)
  const r = await db.query<{ date: string; value: string; users: number; total_users: number }>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, value, users, total_users FROM history
      WHERE label_id = $1 AND ($2::date IS NULL OR date >= $2::date) AND ($3::date IS NULL OR date <= $3::date)
        AND ($4::text[] IS NULL OR value = ANY($4::text[]))
      ORDER BY date, value COLLATE "C"`,
    [labelId, from, to, vals],
  )
  return {
    labelId,
    items: inHistoryOrder(
      r.rows.map((x) => ({
        date: x.date,
        value: x.value,
        users: x.users,
        proportion: x.total_users > 0 ? x.users / x.total_users : 0,
      })),
    ),
  }
}
