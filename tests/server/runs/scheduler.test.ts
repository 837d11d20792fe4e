import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RunTrigger } from '../../../engine/api.ts'
import { claimScheduleSlot, lastScheduleSlot, migrateScheduleSlots } from '../../../engine/schedule-slots.ts'
import { MAX_TIMER_MS, Scheduler } from '../../../server/runs/scheduler.ts'
import type { Label, Schedule } from '../../../shared/schemas/label.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { FakeClock } from './fake-clock.ts'

// The scheduler against a fake clock and real slot claims in the database. The queue is a
// recorder: what the scheduler decides to trigger is the behaviour under test here.

interface Triggered {
  labelId: string
  trigger: RunTrigger
  asOf: string | undefined
}

let seq = 0
function label(schedule: Schedule, over: Partial<Label> = {}): Label {
  return {
    id: `l${++seq}_${Date.now().toString(36)}`,
    name: `label_${seq}`,
    displayName: `Label ${seq}`,
    groupId: 'default',
    dataType: 'number',
    labelType: schedule.kind === 'once' ? 'static' : 'dynamic',
    schedule,
    enabled: true,
    description: '',
    rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    createdAt: '2000-01-01T00:00:00.000Z',
    updatedAt: '2000-01-01T00:00:00.000Z',
    ...over,
  }
}

describeEachDb('Scheduler', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await migrateScheduleSlots(db)
  })
  afterAll(async () => {
    await db.dispose()
  })

  /** One scheduler "process" over the shared database. */
  function boot(start: string, labels: Label[], tz = 'UTC', clock = new FakeClock(start)) {
    const triggered: Triggered[] = []
    const errors: unknown[] = []
    const scheduler = new Scheduler({
      clock,
      tz,
      listLabels: () => labels,
      queue: {
        trigger: async (labelId, trigger, asOf) => {
          triggered.push({ labelId, trigger, asOf })
        },
      },
      slots: { claim: (id, slot) => claimScheduleSlot(db, id, slot), last: (id) => lastScheduleSlot(db, id) },
      onError: (e) => errors.push(e),
    })
    const advanceTo = (t: string) => clock.advanceTo(t, () => scheduler.settled())
    const runsOf = (l: Label) => triggered.filter((t) => t.labelId === l.id)
    return { clock, scheduler, triggered, errors, advanceTo, runsOf }
  }

  it('fires a daily label once per day at its time, as of the slot', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-05-01T07:00:00Z' })
    const p = boot('2024-05-01T07:00:00Z', [l])
    await p.scheduler.start()
    expect(p.triggered).toEqual([]) // created at 07:00: no slot of its was due yet
    await p.advanceTo('2024-05-04T07:59:59Z')
    expect(p.runsOf(l).map((t) => [t.trigger, t.asOf])).toEqual([
      ['schedule', '2024-05-01T08:00:00.000Z'],
      ['schedule', '2024-05-02T08:00:00.000Z'],
      ['schedule', '2024-05-03T08:00:00.000Z'],
    ])
    await p.scheduler.stop()
  })

  it('fires a weekly label on its ISO weekday in the workspace zone', async () => {
    const l = label({ kind: 'weekly', weekday: 1, at: '06:30' }, { createdAt: '2024-05-01T00:00:00Z' })
    const p = boot('2024-05-01T00:00:00Z', [l], 'Asia/Shanghai')
    await p.scheduler.start()
    await p.advanceTo('2024-05-29T00:00:00Z')
    // Mondays 06:30 in Shanghai are Sundays 22:30 UTC.
    expect(p.runsOf(l).map((t) => t.asOf)).toEqual([
      '2024-05-05T22:30:00.000Z',
      '2024-05-12T22:30:00.000Z',
      '2024-05-19T22:30:00.000Z',
      '2024-05-26T22:30:00.000Z',
    ])
    await p.scheduler.stop()
  })

  it('fires a day-31 monthly label on the last day of shorter months, through timers clamped to 2^31-1 ms', async () => {
    const l = label({ kind: 'monthly', day: 31, at: '08:00' }, { createdAt: '2024-01-31T09:00:00Z' })
    const p = boot('2024-01-31T09:00:00Z', [l])
    await p.scheduler.start()
    await p.advanceTo('2024-07-01T00:00:00Z')
    expect(p.runsOf(l).map((t) => t.asOf)).toEqual([
      '2024-02-29T08:00:00.000Z',
      '2024-03-31T08:00:00.000Z',
      '2024-04-30T08:00:00.000Z',
      '2024-05-31T08:00:00.000Z',
      '2024-06-30T08:00:00.000Z',
    ])
    expect(Math.max(...p.clock.delays)).toBe(MAX_TIMER_MS) // March 31 → April 30 is 30 days
    await p.scheduler.stop()
  })

  // 02:30 falls in both zones' spring gap; the repeated hour is 02:00–03:00 in Berlin, 01:00–02:00 in New York.
  for (const [tz, springDay, fallDay, springSlot, fallSlot, repeated] of [
    ['Europe/Berlin', '2024-03-31', '2024-10-27', '2024-03-31T01:00:00.000Z', '2024-10-27T00:30:00.000Z', '02:30'],
    ['America/New_York', '2024-03-10', '2024-11-03', '2024-03-10T07:00:00.000Z', '2024-11-03T05:30:00.000Z', '01:30'],
  ] as const) {
    it(`runs exactly once on the spring-forward and fall-back days in ${tz}`, async () => {
      for (const [day, slot, at] of [
        [springDay, springSlot, '02:30'],
        [fallDay, fallSlot, repeated],
      ] as const) {
        // Fresh labels per transition; each walks from two days before to two days after it.
        const l = label({ kind: 'daily', at }, { createdAt: dayShift(day, -2) })
        const p = boot(dayShift(day, -2), [l], tz)
        await p.scheduler.start()
        await p.advanceTo(dayShift(day, 2))
        const runs = p.runsOf(l).map((t) => t.asOf!)
        expect(runs.filter((a) => localDate(a, tz) === day)).toEqual([slot])
        // Every day of the walk ran once: the transition day neither skipped nor doubled.
        expect(runs.map((a) => localDate(a, tz))).toEqual(
          [-2, -1, 0, 1].map((n) => localDate(dayShift(day, n, 12), tz)),
        )
        await p.scheduler.stop()
      }
    })
  }

  it('after downtime, a label that missed slots gets exactly one catch-up run at start', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-06-01T07:00:00Z' })
    const before = boot('2024-06-01T07:00:00Z', [l])
    await before.scheduler.start()
    await before.advanceTo('2024-06-01T12:00:00Z')
    expect(before.runsOf(l)).toHaveLength(1)
    await before.scheduler.stop() // "down" from June 1 noon to June 4, 10:00: three slots missed

    const after = boot('2024-06-04T10:00:00Z', [l])
    await after.scheduler.start()
    expect(after.runsOf(l)).toEqual([{ labelId: l.id, trigger: 'catchup', asOf: '2024-06-04T10:00:00.000Z' }])
    expect(await lastScheduleSlot(db, l.id)).toBe('2024-06-04T08:00:00.000Z')
    await after.advanceTo('2024-06-05T09:00:00Z')
    expect(after.runsOf(l).map((t) => t.trigger)).toEqual(['catchup', 'schedule'])
    await after.scheduler.stop()

    // Restarting again right away finds nothing missed.
    const again = boot('2024-06-05T09:30:00Z', [l])
    await again.scheduler.start()
    expect(again.triggered).toEqual([])
    await again.scheduler.stop()
  })

  it('a label that never ran but existed before the downtime also gets one catch-up run', async () => {
    const l = label({ kind: 'weekly', weekday: 3, at: '08:00' }, { createdAt: '2024-06-10T00:00:00Z' })
    const p = boot('2024-06-30T00:00:00Z', [l])
    await p.scheduler.start()
    expect(p.triggered).toEqual([{ labelId: l.id, trigger: 'catchup', asOf: '2024-06-30T00:00:00.000Z' }])
    expect(await lastScheduleSlot(db, l.id)).toBe('2024-06-26T08:00:00.000Z')
    await p.scheduler.stop()
  })

  it('a restart after a crash between claiming a slot and running it does not run the slot again', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-07-01T07:00:00Z' })
    // The crashed process claimed today's slot and died before triggering.
    expect(await claimScheduleSlot(db, l.id, '2024-07-01T08:00:00.000Z')).toBe(true)
    const p = boot('2024-07-01T08:00:05Z', [l])
    await p.scheduler.start()
    await p.advanceTo('2024-07-01T23:00:00Z')
    expect(p.triggered).toEqual([])
    await p.advanceTo('2024-07-02T08:00:00Z')
    expect(p.runsOf(l).map((t) => t.asOf)).toEqual(['2024-07-02T08:00:00.000Z'])
    await p.scheduler.stop()
  })

  it('two processes on one database run each slot once', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-08-01T07:00:00Z' })
    const a = boot('2024-08-01T07:00:00Z', [l])
    const b = boot('2024-08-01T07:00:00Z', [l])
    await Promise.all([a.scheduler.start(), b.scheduler.start()])
    await Promise.all([a.advanceTo('2024-08-03T09:00:00Z'), b.advanceTo('2024-08-03T09:00:00Z')])
    const all = [...a.runsOf(l), ...b.runsOf(l)].map((t) => t.asOf).sort()
    expect(all).toEqual(['2024-08-01T08:00:00.000Z', '2024-08-02T08:00:00.000Z', '2024-08-03T08:00:00.000Z'])
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()])
  })

  it('never runs a disabled label, nor static or once labels, and shows no next run for them', async () => {
    const disabled = label({ kind: 'daily', at: '08:00' }, { enabled: false })
    const once = label({ kind: 'once' })
    const staticDaily = label({ kind: 'daily', at: '08:00' }, { labelType: 'static' })
    const p = boot('2024-09-01T00:00:00Z', [disabled, once, staticDaily])
    await p.scheduler.start()
    await p.advanceTo('2024-10-01T00:00:00Z')
    expect(p.triggered).toEqual([])
    expect(p.clock.pending()).toBe(0)
    for (const l of [disabled, once, staticDaily]) expect(p.scheduler.nextRunAt(l)).toBeNull()
    await p.scheduler.stop()
  })

  it('enabling a label later runs its next slot but not the slots it missed while disabled', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { enabled: false })
    const labels = [l]
    const p = boot('2024-10-01T00:00:00Z', labels)
    await p.scheduler.start()
    await p.advanceTo('2024-10-03T12:00:00Z')
    labels[0] = { ...l, enabled: true }
    await p.scheduler.refresh()
    expect(p.triggered).toEqual([])
    expect(p.scheduler.nextRunAt(labels[0])).toBe('2024-10-04T08:00:00.000Z')
    await p.advanceTo('2024-10-04T08:00:00Z')
    expect(p.runsOf(l).map((t) => [t.trigger, t.asOf])).toEqual([['schedule', '2024-10-04T08:00:00.000Z']])
    // Disabling again stops it.
    labels[0] = { ...labels[0], enabled: false }
    await p.scheduler.refresh()
    await p.advanceTo('2024-10-10T00:00:00Z')
    expect(p.runsOf(l)).toHaveLength(1)
    await p.scheduler.stop()
  })

  it('a slot a label skipped while disabled, or before its schedule was set, is not caught up at the next start', async () => {
    // A process runs from 07:00. `enabled` is disabled at its 08:00 slot and enabled at 08:05;
    // `edited` is given, at 08:05, a schedule whose slot was 08:00; `missed` is left alone. The
    // process stops at 08:06 and the next starts at 08:10, with no slot in the downtime.
    const enabled = label({ kind: 'daily', at: '08:00' }, { enabled: false, createdAt: '2024-11-02T06:00:00Z' })
    const edited = label({ kind: 'daily', at: '09:00' }, { createdAt: '2024-11-02T06:00:00Z' })
    const labels = [enabled, edited]
    const p = boot('2024-11-02T07:00:00Z', labels)
    await p.scheduler.start()
    await p.advanceTo('2024-11-02T08:05:00Z')
    // Both written with a browser's clock behind the server's: only the server's counts.
    labels[0] = { ...enabled, enabled: true, updatedAt: '2024-11-02T07:00:00Z' }
    labels[1] = { ...edited, schedule: { kind: 'daily', at: '08:00' }, updatedAt: '2024-11-02T07:00:00Z' }
    await p.scheduler.refresh()
    await p.advanceTo('2024-11-02T08:06:00Z')
    expect(p.triggered).toEqual([])
    await p.scheduler.stop()

    // The control: its 08:00 slot was never claimed (it stands for a downtime over it).
    const missed = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-11-01T00:00:00Z' })
    const q = boot('2024-11-02T08:10:00Z', [labels[0]!, labels[1]!, missed])
    await q.scheduler.start()
    expect(q.triggered).toEqual([{ labelId: missed.id, trigger: 'catchup', asOf: '2024-11-02T08:10:00.000Z' }])
    // The others run from their next slot on.
    await q.advanceTo('2024-11-03T08:30:00Z')
    expect(q.runsOf(enabled).map((t) => [t.trigger, t.asOf])).toEqual([['schedule', '2024-11-03T08:00:00.000Z']])
    expect(q.runsOf(edited).map((t) => [t.trigger, t.asOf])).toEqual([['schedule', '2024-11-03T08:00:00.000Z']])
    await q.scheduler.stop()
  })

  it('a label last edited by a browser whose clock is ahead still gets its catch-up', async () => {
    // Edited at 07:30 by the server's clock, stamped 09:30 by the browser's; the server is down
    // over the 08:00 slot.
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-11-02T06:00:00Z' })
    const labels = [l]
    const p = boot('2024-11-02T07:00:00Z', labels)
    await p.scheduler.start()
    await p.advanceTo('2024-11-02T07:30:00Z')
    labels[0] = { ...l, description: 'edited', updatedAt: '2024-11-02T09:30:00Z' }
    await p.scheduler.refresh()
    await p.scheduler.stop()
    const q = boot('2024-11-02T09:00:00Z', labels)
    await q.scheduler.start()
    expect(q.triggered).toEqual([{ labelId: l.id, trigger: 'catchup', asOf: '2024-11-02T09:00:00.000Z' }])
    await q.scheduler.stop()
  })

  it('a disabled label gets no catch-up at start either', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { enabled: false })
    const p = boot('2024-10-20T12:00:00Z', [l])
    await p.scheduler.start()
    expect(p.triggered).toEqual([])
    await p.scheduler.stop()
  })

  it('a label created after start runs from its first slot after creation, with no catch-up for earlier ones', async () => {
    const labels: Label[] = []
    const p = boot('2024-11-01T00:00:00Z', labels)
    await p.scheduler.start()
    expect(p.clock.pending()).toBe(0)
    await p.advanceTo('2024-11-01T09:00:00Z')
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-11-01T09:00:00.000Z' })
    labels.push(l)
    await p.scheduler.refresh()
    expect(p.triggered).toEqual([])
    await p.advanceTo('2024-11-02T08:00:00Z')
    expect(p.runsOf(l).map((t) => t.asOf)).toEqual(['2024-11-02T08:00:00.000Z'])
    await p.scheduler.stop()

    // And a restart finds no missed slot before its creation.
    const fresh = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-11-05T09:00:00.000Z' })
    const q = boot('2024-11-05T10:00:00Z', [fresh])
    await q.scheduler.start()
    expect(q.triggered).toEqual([])
    await q.scheduler.stop()
  })

  it('editing a schedule takes effect from the edit: an earlier time today waits for tomorrow', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2024-12-01T07:00:00Z' })
    const labels = [l]
    const p = boot('2024-12-01T07:00:00Z', labels)
    await p.scheduler.start()
    labels[0] = { ...l, schedule: { kind: 'daily', at: '06:00' } }
    await p.scheduler.refresh()
    await p.advanceTo('2024-12-01T23:00:00Z')
    expect(p.triggered).toEqual([])
    await p.advanceTo('2024-12-02T06:00:00Z')
    expect(p.runsOf(l).map((t) => t.asOf)).toEqual(['2024-12-02T06:00:00.000Z'])
    await p.scheduler.stop()
  })

  it('nextRunAt follows the clock and the workspace zone', async () => {
    const l = label({ kind: 'weekly', weekday: 5, at: '18:00' })
    const p = boot('2025-01-01T12:00:00Z', [l], 'America/New_York')
    expect(p.scheduler.nextRunAt(l)).toBe('2025-01-03T23:00:00.000Z')
    await p.scheduler.stop()
  })

  it('a failing trigger still consumes its slot and the scheduler keeps going', async () => {
    const l = label({ kind: 'daily', at: '08:00' }, { createdAt: '2025-02-01T07:00:00Z' })
    const clock = new FakeClock('2025-02-01T07:00:00Z')
    const errors: unknown[] = []
    let calls = 0
    const scheduler = new Scheduler({
      clock,
      tz: 'UTC',
      listLabels: () => [l],
      onError: (e) => errors.push(e),
      queue: {
        trigger: async () => {
          calls++
          if (calls === 1) throw new Error('queue closed')
        },
      },
      slots: { claim: (id, slot) => claimScheduleSlot(db, id, slot), last: (id) => lastScheduleSlot(db, id) },
    })
    await scheduler.start()
    await clock.advanceTo('2025-02-02T09:00:00Z', () => scheduler.settled())
    expect(calls).toBe(2)
    expect(errors).toHaveLength(1)
    expect(await lastScheduleSlot(db, l.id)).toBe('2025-02-02T08:00:00.000Z')
    await scheduler.stop()
  })

  it('refuses an unknown time zone up front', () => {
    expect(() => boot('2025-01-01T00:00:00Z', [], 'Nowhere/Atlantis')).toThrow(/unknown time zone/)
  })
})

/** `day` (YYYY-MM-DD) at `hour` UTC, shifted by n days, as ISO. */
function dayShift(day: string, n: number, hour = 0): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000 + hour * 3_600_000).toISOString()
}

function localDate(iso: string, tz: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(iso),
  )
}
