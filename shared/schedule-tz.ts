import { invalid } from './errors.ts'

/**
 * A tiny IANA time-zone resolver over Intl.DateTimeFormat (no tz database of our own, so
 * it follows whatever tzdata the runtime ships — the same in Node and the browser).
 */

/** A calendar date with a wall-clock time, as a clock in some zone shows it. */
export interface LocalDateTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz)
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      })
    } catch {
      throw invalid(`unknown time zone ${JSON.stringify(tz)}`, '/tz', tz)
    }
    formatters.set(tz, f)
  }
  return f
}

/** Throws LabelsError('invalid') unless `tz` is an IANA zone name the runtime knows. */
export function assertTimeZone(tz: string): void {
  formatter(tz)
}

/** The wall clock in `tz` at the instant `ms` (UTC epoch milliseconds), to the second. */
export function toLocal(ms: number, tz: string): LocalDateTime {
  const out: LocalDateTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 }
  for (const p of formatter(tz).formatToParts(new Date(ms))) {
    if (p.type in out) out[p.type as keyof LocalDateTime] = Number(p.value)
  }
  // Some ICU versions still print midnight as 24 despite h23.
  if (out.hour === 24) out.hour = 0
  return out
}

/** Wall-clock fields as if they were UTC: a monotonic number to compare local times with. */
export function localMs(l: LocalDateTime): number {
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second)
}

/** UTC offset of `tz` at instant `ms`, in milliseconds (local = utc + offset). */
export function offsetAt(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000
  return localMs(toLocal(whole, tz)) - whole
}

/**
 * The first instant at which the clock in `tz` shows `wall` or later, near that wall time.
 * So an ambiguous time (clocks set back) resolves to its first occurrence, and a time in a
 * gap (clocks set forward) resolves to the end of the gap — 02:30 on a Berlin spring-forward
 * day becomes 03:00 CEST, the instant the clocks jump.
 */
export function fromLocal(wall: LocalDateTime, tz: string): number {
  const w = localMs(wall)
  // The true instant is within ±14h of w; sampling two days either side sees both offsets of
  // any single transition near it.
  const offsets = new Set([offsetAt(w - 2 * DAY, tz), offsetAt(w, tz), offsetAt(w + 2 * DAY, tz)])
  let best: number | null = null
  for (const o of offsets) {
    const t = w - o
    if (offsetAt(t, tz) === o && (best === null || t < best)) best = t
  }
  if (best !== null) return best
  return endOfGap(w, Math.min(...offsets), Math.max(...offsets), tz)
}

/** Binary search for the first second whose local time reaches `w`, inside a forward jump. */
function endOfGap(w: number, low: number, high: number, tz: string): number {
  // At w - high the clock still reads before w; at w - low it already reads past it.
  let lo = Math.floor((w - high) / 1000)
  let hi = Math.ceil((w - low) / 1000)
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (localMs(toLocal(mid * 1000, tz)) >= w) hi = mid
    else lo = mid
  }
  return hi * 1000
}
