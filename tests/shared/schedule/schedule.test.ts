import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { describeSchedule, lastSlotAtOrBefore, nextRunAfter } from '../../../shared/schedule.ts'
import type { Schedule } from '../../../shared/schemas/label.ts'

const next = (s: Schedule, after: string, tz: string) => nextRunAfter(s, new Date(after), tz)?.toISOString() ?? null
const last = (s: Schedule, at: string, tz: string) => lastSlotAtOrBefore(s, new Date(at), tz)?.toISOString() ?? null

describe('nextRunAfter / lastSlotAtOrBefore', () => {
  it('once has no slots', () => {
    expect(next({ kind: 'once' }, '2024-05-01T00:00:00Z', 'UTC')).toBeNull()
    expect(last({ kind: 'once' }, '2024-05-01T00:00:00Z', 'UTC')).toBeNull()
  })

  it('daily in UTC: later today, else tomorrow; a slot exactly at `after` is not next', () => {
    const s: Schedule = { kind: 'daily', at: '08:00' }
    expect(next(s, '2024-05-01T07:59:59Z', 'UTC')).toBe('2024-05-01T08:00:00.000Z')
    expect(next(s, '2024-05-01T08:00:00Z', 'UTC')).toBe('2024-05-02T08:00:00.000Z')
    expect(last(s, '2024-05-01T08:00:00Z', 'UTC')).toBe('2024-05-01T08:00:00.000Z')
    expect(last(s, '2024-05-01T07:59:59.999Z', 'UTC')).toBe('2024-04-30T08:00:00.000Z')
  })

  it('daily in Asia/Shanghai (UTC+8, no DST) crosses the UTC date line', () => {
    const s: Schedule = { kind: 'daily', at: '06:00' }
    expect(next(s, '2024-05-01T23:00:00Z', 'Asia/Shanghai')).toBe('2024-05-02T22:00:00.000Z')
    expect(next(s, '2024-05-01T21:00:00Z', 'Asia/Shanghai')).toBe('2024-05-01T22:00:00.000Z')
    expect(last(s, '2024-05-01T21:00:00Z', 'Asia/Shanghai')).toBe('2024-04-30T22:00:00.000Z')
  })

  it('weekly uses ISO weekdays (1 = Monday, 7 = Sunday) in the zone, not in UTC', () => {
    // 2024-05-05 is a Sunday. At 2024-05-05T20:00Z it is already Monday 04:00 in Shanghai.
    expect(next({ kind: 'weekly', weekday: 1, at: '08:00' }, '2024-05-05T20:00:00Z', 'Asia/Shanghai')).toBe(
      '2024-05-06T00:00:00.000Z',
    )
    expect(next({ kind: 'weekly', weekday: 7, at: '08:00' }, '2024-05-05T20:00:00Z', 'UTC')).toBe(
      '2024-05-12T08:00:00.000Z',
    )
    expect(next({ kind: 'weekly', weekday: 7, at: '23:00' }, '2024-05-05T20:00:00Z', 'UTC')).toBe(
      '2024-05-05T23:00:00.000Z',
    )
    expect(last({ kind: 'weekly', weekday: 3, at: '00:00' }, '2024-05-05T20:00:00Z', 'UTC')).toBe(
      '2024-05-01T00:00:00.000Z',
    )
  })

  it('monthly on a day the month lacks runs on its last day (leap and common Februaries, April)', () => {
    const d31: Schedule = { kind: 'monthly', day: 31, at: '08:00' }
    expect(next(d31, '2024-02-01T00:00:00Z', 'UTC')).toBe('2024-02-29T08:00:00.000Z')
    expect(next(d31, '2023-02-01T00:00:00Z', 'UTC')).toBe('2023-02-28T08:00:00.000Z')
    expect(next(d31, '2024-02-29T08:00:00Z', 'UTC')).toBe('2024-03-31T08:00:00.000Z')
    expect(next(d31, '2024-04-01T00:00:00Z', 'UTC')).toBe('2024-04-30T08:00:00.000Z')
    expect(last(d31, '2024-03-30T00:00:00Z', 'UTC')).toBe('2024-02-29T08:00:00.000Z')
    expect(next({ kind: 'monthly', day: 29, at: '00:00' }, '2100-02-01T00:00:00Z', 'UTC')).toBe(
      '2100-02-28T00:00:00.000Z',
    )
    expect(next({ kind: 'monthly', day: 29, at: '00:00' }, '2000-02-01T00:00:00Z', 'UTC')).toBe(
      '2000-02-29T00:00:00.000Z',
    )
  })

  it('monthly rolls over the year end', () => {
    expect(next({ kind: 'monthly', day: 1, at: '00:00' }, '2024-12-15T00:00:00Z', 'UTC')).toBe(
      '2025-01-01T00:00:00.000Z',
    )
    expect(last({ kind: 'monthly', day: 15, at: '00:00' }, '2025-01-10T00:00:00Z', 'UTC')).toBe(
      '2024-12-15T00:00:00.000Z',
    )
  })

  describe('daylight saving', () => {
    it('Europe/Berlin spring forward: 02:30 does not exist and runs once at 03:00 CEST', () => {
      const s: Schedule = { kind: 'daily', at: '02:30' }
      expect(next(s, '2024-03-30T12:00:00Z', 'Europe/Berlin')).toBe('2024-03-31T01:00:00.000Z')
      expect(next(s, '2024-03-31T01:00:00Z', 'Europe/Berlin')).toBe('2024-04-01T00:30:00.000Z')
      expect(last(s, '2024-03-31T01:30:00Z', 'Europe/Berlin')).toBe('2024-03-31T01:00:00.000Z')
      // An existing time that day is unaffected: 03:30 CEST.
      expect(next({ kind: 'daily', at: '03:30' }, '2024-03-30T12:00:00Z', 'Europe/Berlin')).toBe(
        '2024-03-31T01:30:00.000Z',
      )
    })

    it('Europe/Berlin fall back: 02:30 happens twice and runs once, at the first (CEST) occurrence', () => {
      const s: Schedule = { kind: 'daily', at: '02:30' }
      expect(next(s, '2024-10-26T12:00:00Z', 'Europe/Berlin')).toBe('2024-10-27T00:30:00.000Z')
      // After the first occurrence the next slot is Monday, not the second 02:30 (01:30Z).
      expect(next(s, '2024-10-27T00:30:00Z', 'Europe/Berlin')).toBe('2024-10-28T01:30:00.000Z')
      expect(last(s, '2024-10-27T01:45:00Z', 'Europe/Berlin')).toBe('2024-10-27T00:30:00.000Z')
    })

    it('America/New_York spring forward and fall back', () => {
      expect(next({ kind: 'daily', at: '02:30' }, '2024-03-10T05:00:00Z', 'America/New_York')).toBe(
        '2024-03-10T07:00:00.000Z',
      )
      expect(next({ kind: 'daily', at: '01:30' }, '2024-11-03T04:00:00Z', 'America/New_York')).toBe(
        '2024-11-03T05:30:00.000Z',
      )
      expect(next({ kind: 'daily', at: '01:30' }, '2024-11-03T05:30:00Z', 'America/New_York')).toBe(
        '2024-11-04T06:30:00.000Z',
      )
    })

    it('Australia/Lord_Howe half-hour DST: gap 02:00→02:30 and repeated 01:30–02:00', () => {
      // 2024-10-06 02:00 (+10:30) jumps to 02:30 (+11).
      expect(next({ kind: 'daily', at: '02:15' }, '2024-10-05T12:00:00Z', 'Australia/Lord_Howe')).toBe(
        '2024-10-05T15:30:00.000Z',
      )
      // 2024-04-07 02:00 (+11) falls back to 01:30 (+10:30); 01:45 happens twice.
      expect(next({ kind: 'daily', at: '01:45' }, '2024-04-06T12:00:00Z', 'Australia/Lord_Howe')).toBe(
        '2024-04-06T14:45:00.000Z',
      )
      expect(next({ kind: 'daily', at: '01:45' }, '2024-04-06T14:45:00Z', 'Australia/Lord_Howe')).toBe(
        '2024-04-07T15:15:00.000Z',
      )
    })

    it('monthly and weekly slots on DST days follow the same rule', () => {
      expect(next({ kind: 'monthly', day: 31, at: '02:30' }, '2024-03-01T00:00:00Z', 'Europe/Berlin')).toBe(
        '2024-03-31T01:00:00.000Z',
      )
      expect(next({ kind: 'weekly', weekday: 7, at: '02:30' }, '2024-10-21T00:00:00Z', 'Europe/Berlin')).toBe(
        '2024-10-27T00:30:00.000Z',
      )
    })
  })

  it('rejects an unknown time zone with a LabelsError', () => {
    expect(() => nextRunAfter({ kind: 'daily', at: '08:00' }, new Date(0), 'Mars/Olympus')).toThrow(/unknown time zone/)
  })
})

describe('describeSchedule', () => {
  it("speaks the seed's calculation-mechanism wording", () => {
    expect(describeSchedule({ kind: 'once' })).toBe('calculate once')
    expect(describeSchedule({ kind: 'daily', at: '08:00' })).toBe('once per day at 08:00')
    expect(describeSchedule({ kind: 'weekly', weekday: 1, at: '08:00' })).toBe('once every week on Monday at 08:00')
    expect(describeSchedule({ kind: 'weekly', weekday: 7, at: '21:15' })).toBe('once every week on Sunday at 21:15')
    expect(describeSchedule({ kind: 'monthly', day: 31, at: '08:00' })).toBe('once every month on day 31 at 08:00')
  })
})

const zones = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'Asia/Shanghai',
  'America/Sao_Paulo',
  'Asia/Kolkata',
  'Pacific/Chatham',
] as const
const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`)
const schedules: fc.Arbitrary<Schedule> = fc.oneof(
  hhmm.map((at) => ({ kind: 'daily' as const, at })),
  fc.tuple(fc.integer({ min: 1, max: 7 }), hhmm).map(([weekday, at]) => ({ kind: 'weekly' as const, weekday, at })),
  fc.tuple(fc.integer({ min: 1, max: 31 }), hhmm).map(([day, at]) => ({ kind: 'monthly' as const, day, at })),
)
const instants = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2035, 0, 1) }).map((t) => new Date(t))

/** Wall date (YYYY-MM-DD) of an instant in a zone. */
const localDate = (d: Date, tz: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d)

describe('schedule properties', () => {
  it('the next slot is strictly after `after`, and the last slot at or before it precedes it', () => {
    fc.assert(
      fc.property(schedules, instants, fc.constantFrom(...zones), (s, after, tz) => {
        const n = nextRunAfter(s, after, tz)!
        const l = lastSlotAtOrBefore(s, after, tz)!
        expect(n.getTime()).toBeGreaterThan(after.getTime())
        expect(l.getTime()).toBeLessThanOrEqual(after.getTime())
        // Nothing lies between them: the slot before `next` is `last`.
        expect(lastSlotAtOrBefore(s, new Date(n.getTime() - 1), tz)!.getTime()).toBe(l.getTime())
        expect(nextRunAfter(s, l, tz)!.getTime()).toBe(n.getTime())
      }),
      { seed: 20240331, numRuns: 300 },
    )
  })

  it('walking a year visits every slot date exactly once, in order', () => {
    fc.assert(
      fc.property(schedules, instants, fc.constantFrom(...zones), (s, start, tz) => {
        const seen: string[] = []
        let t = start
        const end = start.getTime() + 366 * 86_400_000
        for (;;) {
          t = nextRunAfter(s, t, tz)!
          if (t.getTime() > end) break
          seen.push(localDate(t, tz))
        }
        // One slot per local date (a gap slot may move to the next local date only when the
        // jump crosses midnight, which these zones never do) …
        expect(new Set(seen).size).toBe(seen.length)
        // … and exactly the expected count of dates.
        const expected = s.kind === 'daily' ? [365, 366, 367] : s.kind === 'weekly' ? [52, 53] : [12, 13]
        expect(expected).toContain(seen.length)
      }),
      { seed: 7, numRuns: 60 },
    )
  })

  it('a daily slot shows its wall time except inside a DST gap', () => {
    fc.assert(
      fc.property(hhmm, instants, fc.constantFrom(...zones), (at, after, tz) => {
        const n = nextRunAfter({ kind: 'daily', at }, after, tz)!
        const shown = new Intl.DateTimeFormat('en-GB', {
          timeZone: tz,
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
        }).format(n)
        if (shown !== at) {
          // Only possible in a gap: the clock jumped over `at` one instant earlier.
          const before = new Intl.DateTimeFormat('en-GB', {
            timeZone: tz,
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          }).format(new Date(n.getTime() - 1000))
          const min = (x: string) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3))
          const jump = (min(shown) - min(before) + 1440) % 1440
          expect((min(at) - min(before) + 1440) % 1440).toBeLessThan(jump)
        }
      }),
      { seed: 11, numRuns: 500 },
    )
  })
})
