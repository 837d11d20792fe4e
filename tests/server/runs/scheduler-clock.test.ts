import { describe, expect, it } from 'vitest'
import { Scheduler, type SlotStore } from '../../../server/runs/scheduler.ts'
import type { Label } from '../../../shared/schemas/label.ts'
import { FakeClock } from './fake-clock.ts'

// Issue 12: a label's createdAt may come from a client's clock (labels stored before the server
// stamped creation times, or a raw write). The scheduler must not let it decide when the
// schedule starts: a year ahead must not silence the label for a year, a year behind must not
// run a slot from before the label existed.

const YEAR = 365 * 86_400_000
const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString()

function label(id: string, createdAt: string): Label {
  return {
    id,
    name: id,
    displayName: id,
    groupId: 'default',
    dataType: 'number',
    labelType: 'dynamic',
    schedule: { kind: 'daily', at: '08:00' },
    enabled: true,
    description: '',
    rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    createdAt,
    updatedAt: createdAt,
  }
}

/** Slot claims in memory (the claim rules are engine/schedule-slots.ts's, tested elsewhere). */
function memorySlots(): SlotStore {
  const last = new Map<string, string>()
  return {
    claim: async (id, slot) => {
      const prev = last.get(id)
      if (prev !== undefined && prev >= slot) return false
      last.set(id, slot)
      return true
    },
    last: async (id) => last.get(id) ?? null,
  }
}

function boot(start: string, labels: Label[]) {
  const clock = new FakeClock(start)
  const triggered: Array<{ labelId: string; asOf: string | undefined }> = []
  const scheduler = new Scheduler({
    clock,
    tz: 'UTC',
    listLabels: () => labels,
    slots: memorySlots(),
    queue: {
      trigger: async (labelId, _t, asOf) => {
        triggered.push({ labelId, asOf })
      },
    },
  })
  return { clock, scheduler, triggered, advanceTo: (t: string) => clock.advanceTo(t, () => scheduler.settled()) }
}

describe('Scheduler: createdAt written with a wrong clock', () => {
  it('a label whose createdAt is a year ahead runs from its first slot after it appeared', async () => {
    const labels: Label[] = []
    const p = boot('2025-03-01T00:00:00Z', labels)
    await p.scheduler.start()
    await p.advanceTo('2025-03-01T09:00:00Z')
    labels.push(label('ahead', shift('2025-03-01T09:00:00Z', YEAR)))
    await p.scheduler.refresh()
    await p.advanceTo('2025-03-03T08:00:00Z')
    // Before: nothing for a year (every slot was "before the label's creation").
    expect(p.triggered.map((t) => t.asOf)).toEqual(['2025-03-02T08:00:00.000Z', '2025-03-03T08:00:00.000Z'])
    await p.scheduler.stop()
  })

  it('a label whose createdAt is a year behind does not run a slot that passed before it appeared', async () => {
    const labels: Label[] = []
    const p = boot('2025-03-01T00:00:00Z', labels)
    await p.scheduler.start()
    await p.advanceTo('2025-03-01T09:00:00Z')
    await p.scheduler.refresh() // a listing at 09:00 without it
    labels.push(label('behind', shift('2025-03-01T09:30:00Z', -YEAR)))
    await p.scheduler.refresh()
    // Before: today's 08:00 slot ran at once, though the label appeared after it.
    expect(p.triggered).toEqual([])
    await p.advanceTo('2025-03-02T08:00:00Z')
    expect(p.triggered.map((t) => t.asOf)).toEqual(['2025-03-02T08:00:00.000Z'])
    await p.scheduler.stop()
  })

  it('after a restart, a label whose createdAt is a year ahead still runs on its next slot', async () => {
    const l = label('ahead', '2026-03-01T00:00:00.000Z')
    // The label was stamped as created a year after the restart's "now"; slots were missed while down.
    const p = boot('2025-03-05T12:00:00Z', [l])
    await p.scheduler.start()
    expect(p.triggered).toEqual([])
    await p.advanceTo('2025-03-06T08:00:00Z')
    expect(p.triggered.map((t) => t.asOf)).toEqual(['2025-03-06T08:00:00.000Z'])
    await p.scheduler.stop()
  })
})
