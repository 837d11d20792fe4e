/**
 * The text formats of numbers and dates, read the same way everywhere: ingestion (a CSV cell or
 * JSON string → a typed value), the rule compiler (a date literal in a rule), imports, audience
 * filters and CSV exports. One reading, so a value that ingestion stores as a date is also a
 * date in a rule, and means the same instant there.
 */

/** A plain decimal number as text: optional sign, digits with an optional point, optional exponent. */
export const numberPattern = '[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?'
const numberRe = new RegExp(`^${numberPattern}$`)

/** True for `12`, `-3.5`, `.5`, `5.`, `1e3`; false for `0x10`, `1_000`, `Infinity`, `NaN`, `''`, ` 1`. */
export const isPlainNumber = (s: string): boolean => numberRe.test(s)

/** A calendar day `YYYY-MM-DD` (a JSON-schema pattern: window bounds, date query parameters). */
export const isoDayPattern = '^\\d{4}-\\d{2}-\\d{2}$'
const isoDayRe = new RegExp(isoDayPattern)

/**
 * ISO 8601 / RFC 3339: a calendar date, optionally a time `HH:MM[:SS[.fraction]]` after `T` or a
 * space, optionally a zone `Z`/`z` or an offset `±HH`, `±HHMM`, `±HH:MM`. The fraction has 1–9
 * digits (nanoseconds, as many exporters write) and is read to the millisecond, truncated: the
 * precision stored.
 */
const isoRe =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/

/** The fields of an ISO date or date-time that names a real calendar day and clock time. */
export interface IsoDateTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  /** The fraction of a second in whole milliseconds (truncated). */
  millisecond: number
  /** Minutes east of UTC, or null when the text carries no zone (a local date or date-time). */
  offsetMinutes: number | null
}

/** Reads an ISO date or date-time, or null when it isn't one or names no real day, time or offset. */
export function readIsoDateTime(s: string): IsoDateTime | null {
  const m = isoRe.exec(s)
  if (!m) return null
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', off] = m
  const year = Number(y),
    month = Number(mo),
    day = Number(d)
  const hour = Number(h),
    minute = Number(mi),
    second = Number(sec)
  if (month < 1 || month > 12 || day < 1 || day > monthDays(year, month)) return null
  if (hour > 23 || minute > 59 || second > 59) return null
  let offsetMinutes: number | null = null
  if (off === 'Z' || off === 'z') offsetMinutes = 0
  else if (off) {
    const digits = off.slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2)),
      om = Number(digits.slice(2) || '0')
    if (oh > 23 || om > 59) return null
    offsetMinutes = (off[0] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  return { year, month, day, hour, minute, second, millisecond: Number((frac + '000').slice(0, 3)), offsetMinutes }
}

/** The instant as `YYYY-MM-DDTHH:MM:SS.sssZ`; a zoneless date-time is read as UTC. */
export function isoInstant(t: IsoDateTime): string {
  let ms = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second, t.millisecond)
  if (t.year < 100) ms = new Date(ms).setUTCFullYear(t.year) // Date.UTC maps 0..99 to 1900..1999
  return new Date(ms - (t.offsetMinutes ?? 0) * 60_000).toISOString()
}

/** A zoneless date-time as `YYYY-MM-DDTHH:MM:SS.sss` (PostgreSQL `timestamp` reads it). */
export function isoLocal(t: IsoDateTime): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)}T${p(t.hour)}:${p(t.minute)}:${p(t.second)}.${p(t.millisecond, 3)}`
}

/**
 * True when the date lies in years 0001–9999 (PostgreSQL has no year 0, and `toISOString` writes
 * ±YYYYYY beyond 9999), its offset applied: `0001-01-01T00:30+01:00` lies in year 0.
 */
export function inSupportedYears(t: IsoDateTime): boolean {
  if (t.year < 1) return false
  if (t.offsetMinutes === null) return true
  const instant = isoInstant(t)
  return instant.length === 24 && !instant.startsWith('0000')
}

/** True when `s` is an ISO date or date-time naming a real day and time in years 0001–9999. */
export function isIsoDate(s: string): boolean {
  const t = readIsoDateTime(s)
  return t !== null && inSupportedYears(t)
}

/** True for `YYYY-MM-DD` naming a real calendar day. */
export function isIsoDay(s: string): boolean {
  return isoDayRe.test(s) && readIsoDateTime(s) !== null
}

/** Days of a month of the proleptic Gregorian calendar. */
export function monthDays(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31
}
