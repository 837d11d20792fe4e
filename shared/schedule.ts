import type { Schedule } from './schemas/label.ts'
import { fromLocal, toLocal } from './schedule-tz.ts'

/**
 * When a schedule's slots fall (SPEC §4, §6). Slots are wall-clock times in the workspace
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

interface LocalDate { year: number; month: number; day: number }

const DAY = 86_400_000

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** The next slot strictly after `after`, or null for schedules without slots. */
export function nextRunAfter(schedule: Schedule, after: Date, tz: string): Date | null {
  if (schedule.kind === 'once') return null
  const t = after.getTime()
  // Start a day early: a slot of yesterday's date can fall today after a gap.
  let date = slotDateOnOrAfter(schedule, addDays(localDateAt(t, tz), -1))
  for (;;) {
    const slot = slotInstant(schedule, date, tz)
    if (slot > t) return new Date(slot)
    date = slotDateOnOrAfter(schedule, addDays(date, 1))
  }
}

/** The latest slot at or before `at`, or null for schedules without slots. */
export function lastSlotAtOrBefore(schedule: Schedule, at: Date, tz: string): Date | null {
  if (schedule.kind === 'once') return null
  const t = at.getTime()
  let date = slotDateOnOrBefore(schedule, addDays(localDateAt(t, tz), 1))
  for (;;) {
    const slot = slotInstant(schedule, date, tz)
    if (slot <= t) return new Date(slot)
    date = slotDateOnOrBefore(schedule, addDays(date, -1))
  }
}

/** The seed's "calculation mechanism" wording: "once per day at 08:00" etc. */
export function describeSchedule(schedule: Schedule): string {
  switch (schedule.kind) {
    case 'once': return 'calculate once'
    case 'daily': return `once per day at ${schedule.at}`
    case 'weekly': return `once every week on ${weekdays[schedule.weekday - 1] ?? `weekday ${schedule.weekday}`} at ${schedule.at}`
    case 'monthly': return `once every month on day ${schedule.day} at ${schedule.at}`
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
    case 'daily': return d
    case 'weekly': return addDays(d, (schedule.weekday - isoWeekday(d) + 7) % 7)
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
    case 'daily': return d
    case 'weekly': return addDays(d, -((isoWeekday(d) - schedule.weekday + 7) % 7))
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
  return [Math.floor(i / 12), (i % 12 + 12) % 12 + 1]
}

function isoWeekday(d: LocalDate): number {
  return (new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7 + 1
}

function addDays(d: LocalDate, n: number): LocalDate {
  const x = new Date(Date.UTC(d.year, d.month - 1, d.day) + n * DAY)
  return { year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() }
}

function localDateAt(t: number, tz: string): LocalDate {
  const l = toLocal(t, tz)
  return { year: l.year, month: l.month, day: l.day }
}
