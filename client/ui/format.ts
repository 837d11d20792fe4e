/**
 * One way to write numbers, dates and times across the page: the browser's locale for the
 * shapes (separators, month names, 12/24 h), the workspace time zone for every instant, and
 * that zone named next to the time. Pure functions (locale and zone are arguments, default the
 * browser's locale) so charts and tests can fix them.
 */

export interface FormatOptions {
  /** BCP 47 locale; undefined = the browser's. */
  locale?: string
}

const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()
function numberFormat(locale: string | undefined, o: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `n|${locale ?? ''}|${JSON.stringify(o)}`
  let f = cache.get(key) as Intl.NumberFormat | undefined
  if (!f) cache.set(key, (f = new Intl.NumberFormat(locale, o)))
  return f
}
function dateFormat(locale: string | undefined, o: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale ?? ''}|${JSON.stringify(o)}`
  let f = cache.get(key) as Intl.DateTimeFormat | undefined
  if (!f) cache.set(key, (f = new Intl.DateTimeFormat(locale, o)))
  return f
}

/** A count of users, rows or labels: whole, with the locale's grouping ("20,000", "20 000"). */
export function formatCount(n: number, o: FormatOptions = {}): string {
  return numberFormat(o.locale, { maximumFractionDigits: 0 }).format(Math.round(n))
}

/** A measured number (a value, a bin edge): up to 3 decimals, grouped. */
export function formatNumber(n: number, o: FormatOptions = {}): string {
  return numberFormat(o.locale, { maximumFractionDigits: 3 }).format(n)
}

/** A share 0–1 with one decimal ("12.3%"); tiny non-zero shares read "<0.1%". */
export function formatPercent(p: number, o: FormatOptions = {}): string {
  const f = numberFormat(o.locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 })
  if (p > 0 && p < 0.001) return `<${f.format(0.001)}`
  return f.format(p)
}

/** A calendar date "YYYY-MM-DD" (no instant, no zone): "Nov 30, 2026" in the locale. */
export function formatDate(ymd: string, o: FormatOptions = {}): string {
  const t = Date.parse(`${ymd.slice(0, 10)}T00:00:00Z`)
  if (!Number.isFinite(t)) return ymd
  return dateFormat(o.locale, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(t)
}

/** A calendar date without the year, for chart axes ("Nov 30"). */
export function formatDayShort(ymd: string, o: FormatOptions = {}): string {
  const t = Date.parse(`${ymd.slice(0, 10)}T00:00:00Z`)
  if (!Number.isFinite(t)) return ymd
  return dateFormat(o.locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(t)
}

/** The zone's short name at an instant ("UTC", "GMT+8", "CET"), as the locale writes it. */
export function zoneName(tz: string, at: number, o: FormatOptions = {}): string {
  const parts = dateFormat(o.locale, { timeZone: tz, timeZoneName: 'short' }).formatToParts(at)
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? tz
}

/**
 * An instant (ISO string or ms) in the workspace time zone, the zone named:
 * "Nov 30, 2026, 02:00 UTC". null/undefined/unparsable → "—".
 */
export function formatDateTime(at: string | number | null | undefined, tz: string, o: FormatOptions = {}): string {
  if (at === null || at === undefined) return '—'
  const t = typeof at === 'number' ? at : Date.parse(at)
  if (!Number.isFinite(t)) return '—'
  const f = dateFormat(o.locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: tz,
  })
  return `${f.format(t)} ${zoneName(tz, t, o)}`
}

/** The tooltip of a shown time: the zone's IANA name, and the same instant on the viewer's clock. */
export function dateTimeTitle(at: string | number | null | undefined, tz: string, o: FormatOptions = {}): string {
  if (at === null || at === undefined) return ''
  const t = typeof at === 'number' ? at : Date.parse(at)
  if (!Number.isFinite(t)) return ''
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone
  const base = `Workspace time zone: ${tz}`
  return local && local !== tz ? `${base} · your clock: ${formatDateTime(t, local, o)}` : base
}
