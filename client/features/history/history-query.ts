/** The history filter (SPEC §7): a date range and any number of values. */
export interface HistoryFilter { from: string; to: string; values: string[] }

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
