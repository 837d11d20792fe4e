/** The history filter (docs/api.md#history): a date range and any number of values. */
export interface HistoryFilter {
  from: string
  to: string
  values: string[]
}

/** The history query string (from/to as YYYY-MM-DD, value repeated). */
export function historyQuery(f: HistoryFilter, format: 'json' | 'csv' = 'json'): string {
  const q = new URLSearchParams()
  if (f.from) q.set('from', f.from)
  if (f.to) q.set('to', f.to)
  for (const v of f.values) q.append('value', v)
  if (format === 'csv') q.set('format', 'csv')
  return q.toString()
}

/** The date `days` before `today` as YYYY-MM-DD (UTC calendar). */
export function daysAgo(days: number, today: Date = new Date()): string {
  return new Date(today.getTime() - days * 86_400_000).toISOString().slice(0, 10)
}

/** The query that reads the filter's whole date range, every value (the panel filters values itself). */
export const rangeFilter = (f: HistoryFilter): HistoryFilter => ({ ...f, values: [] })

/** Is the range one the server answers (it refuses from after to)? */
export const validRange = (f: HistoryFilter): boolean => !(f.from && f.to && f.from > f.to)

/**
 * History items within the filter, as the server selects them: from/to inclusive calendar
 * dates (YYYY-MM-DD compares as text), then only the chosen values when there are any.
 * Order is kept (the server's: date, then value).
 */
export function filterHistory<T extends { date: string; value: string }>(items: readonly T[], f: HistoryFilter): T[] {
  const values = f.values.length ? new Set(f.values) : null
  return items.filter(
    (i) => (!f.from || i.date >= f.from) && (!f.to || i.date <= f.to) && (!values || values.has(i.value)),
  )
}

/** "0, 10, 20" → numbers, or the reason it isn't a list of increasing numbers. */
export function parseBoundaryList(text: string): number[] | string {
  const parts = text
    .split(/[,\s;]+/)
    .map((x) => x.trim())
    .filter(Boolean)
  if (parts.length === 0) return 'Give at least one boundary.'
  if (parts.length > 49) return 'At most 49 boundaries (50 intervals).'
  const out = parts.map(Number)
  const bad = parts.find((_, i) => !Number.isFinite(out[i]))
  if (bad !== undefined) return `"${bad}" is not a number.`
  for (let i = 1; i < out.length; i++)
    if ((out[i] as number) <= (out[i - 1] as number)) return 'Boundaries must be strictly increasing.'
  return out
}
