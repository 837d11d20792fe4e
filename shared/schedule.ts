import type { Schedule } from './schemas/label.ts'
import { fromLocal, toLocal } from './schedule-tz.ts'

/**
 * When a schedule's slots fall (docs/semantics.md#schedules). Slots are wall-clock times in the workspace
 * time zone, one per matching calendar date:
 *
 * - daily: every date; weekly: every date whose ISO weekday (1 = Monday) matches;
 *   monthly: day `day` of every month, or the month's last day when it is shorter.
 * - The slot instant is the first instant the zone's clock shows `at` or later that date:
 *   a time skipped by a spring-forward (02:30 in Berlin on the last Sunday of March) runs
 *   when the clocks jump (03:00 CEST); a time repeated by a fall-back (02:30 in Berlin on the
 *   last Sunday of October) runs at its first occurrence (CEST) only. Each date thus has
 *   exactly one slot, and slots grow strictly with their date.
 * - `once` has no slots (the label is calculated when created, not on a timetable).
 */

interface LocalDate {
  year: number
  month: number
  day: number
}

const DAY = 86_400_000

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

const AT = /^([01]\d|2[0-3]):[0-5]\d$/
const intIn = (v: unknown, min: number, max: number) =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max
const onlyKeys = (o: object, keys: string[]) => Object.keys(o).every((k) => keys.includes(k))

/**
 * True for a schedule of the shape docs/model.md#label-types-and-schedules allows (the
 * `Schedule` schema), checked by hand so
 * the projection can afford it for every label. The document is written by clients: a raw
 * write can put anything there (`{kind:'weekly', weekday:'x'}`, no `at`, `25:99`), and slot
 * arithmetic on such a value throws or never ends.
 */
export function isSchedule(v: unknown): v is Schedule {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const s = v as Record<string, unknown>
  const at = typeof s.at === 'string' && AT.test(s.at)
  switch (s.kind) {
    case 'once':
      return onlyKeys(s, ['kind'])
    case 'daily':
      return at && onlyKeys(s, ['kind', 'at'])
    case 'weekly':
      return at && intIn(s.weekday, 1, 7) && onlyKeys(s, ['kind', 'weekday', 'at'])
    case 'monthly':
      return at && intIn(s.day, 1, 31) && onlyKeys(s, ['kind', 'day', 'at'])
    default:
      return false
  }
}

/** Slots are at most a month and a day apart: a search that goes further has a bad schedule. */
const MAX_STEPS = 64

/** The next slot strictly after `after`, or null for schedules without slots (or invalid ones). */
export function nextRunAfter(schedule: Schedule, after: Date, tz: string): Date | null {
  if (schedule.kind === 'once' || !isSchedule(schedule)) return null
  const t = after.getTime()
  if (!Number.isFinite(t)) return null
  // Start a day early: a slot of yesterday's date can fall today after a gap.
  let date = slotDateOnOrAfter(schedule, addDays(localDateAt(t, tz), -1))
  for (let i = 0; i < MAX_STEPS; i++) {
    const slot = slotInstant(schedule, date, tz)
    if (slot > t) return new Date(slot)
    date = slotDateOnOrAfter(schedule, addDays(date, 1))
  }
  return null
}

/** The latest slot at or before `at`, or null for schedules without slots (or invalid ones). */
export function lastSlotAtOrBefore(schedule: Schedule, at: Date, tz: string): Date | null {
  if (schedule.kind === 'once' || !isSchedule(schedule)) return null
  const t = at.getTime()
  if (!Number.isFinite(t)) return null
  let date = slotDateOnOrBefore(schedule, addDays(localDateAt(t, tz), 1))
  for (let i = 0; i < MAX_STEPS; i++) {
    const slot = slotInstant(schedule, date, tz)
    if (slot <= t) return new Date(slot)
    date = slotDateOnOrBefore(schedule, addDays(date, -1))
  }
  return null
}

/** The seed's "calculation mechanism" wording: "once per day at 08:00" etc. */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'once':
      return 'calculate once'
    case 'daily':
      return `once per day at ${schedule.at}`
    case 'weekly':
      return `once every week on ${weekdays[schedule.weekday - 1] ?? `weekday ${schedule.weekday}`} at ${schedule.at}`
    case 'monthly':
      return `once every month on day ${schedule.day} at ${schedule.at}`
  }
}

type Timed = Exclude<Schedule, { kind: 'once' }>

function slotInstant(schedule: Timed, d: LocalDate, tz: string): number {
  const [hour, minute] = schedule.at.split(':').map(Number) as [number, number]
  return fromLocal({ ...d, hour, minute, second: 0 }, tz)
}

/** The first date on or after `d` that has a slot. */
function slotDateOnOrAfter(schedule: Timed, d: LocalDate): LocalDate {
  switch (schedule.kind) {
    case 'daily':
      return d
    case 'weekly':
      return addDays(d, (schedule.weekday - isoWeekday(d) + 7) % 7)
    case 'monthly': {
      const here = monthSlot(d.year, d.month, schedule.day)
      if (here.day >= d.day) return here
      const [y, m] = shiftMonth(d.year, d.month, 1)
      return monthSlot(y, m, schedule.day)
    }
  }
}

/** The last date on or before `d` that has a slot. */
function slotDateOnOrBefore(schedule: Timed, d: LocalDate): LocalDate {
  switch (schedule.kind) {
    case 'daily':
      return d
    case 'weekly':
      return addDays(d, -((isoWeekday(d) - schedule.weekday + 7) % 7))
    case 'monthly': {
      const here = monthSlot(d.year, d.month, schedule.day)
      if (here.day <= d.day) return here
      const [y, m] = shiftMonth(d.year, d.month, -1)
      return monthSlot(y, m, schedule.day)
    }
  }
}

function monthSlot(year: number, month: number, day: number): LocalDate {
  return { year, month, day: Math.min(day, daysInMonth(year, month)) }
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

function shiftMonth(year: number, month: number, by: number): [number, number] {
  const i = year * 12 + (month - 1) + by
  return [Math.floor(i / 12), (((i % 12) + 12) % 12) + 1]
}

function isoWeekday(d: LocalDate): number {
  return ((new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7) + 1
}

function addDays(d: LocalDate, n: number): LocalDate {
  const x = new Date(Date.UTC(d.year, d.month - 1, d.day) + n * DAY)
  return { year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() }
}

function localDateAt(t: number, tz: string): LocalDate {
  const l = toLocal(t, tz)
  return { year: l.year, month: l.month, day: l.day }
}
