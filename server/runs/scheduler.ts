import type { RunTrigger } from '../../engine/api.ts'
import { lastSlotAtOrBefore, nextRunAfter } from '../../shared/schedule.ts'
import { assertTimeZone } from '../../shared/schedule-tz.ts'
import type { Label } from '../../shared/schemas/label.ts'

/** Time as the scheduler sees it; tests inject a fake one. */
export interface Clock {
  now(): Date
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms)
    h.unref?.() // a pending schedule must not keep the process alive on shutdown
    return h
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

/** Durable slot claims (engine/schedule-slots.ts through EngineApi). */
export interface SlotStore {
  /** True when this caller won the slot; a slot is won at most once, ever. */
  claim(labelId: string, slotIso: string): Promise<boolean>
  last(labelId: string): Promise<string | null>
}

export interface SchedulerOptions {
  clock: Clock
  queue: { trigger(labelId: string, trigger: RunTrigger, asOf?: string): Promise<unknown> }
  listLabels(): Label[]
  tz: string
  slots: SlotStore
  /** A claim or trigger failed for a label (logged by the server). */
  onError?(error: unknown, labelId: string): void
}

/** Node's setTimeout fires at once for delays above 2^31-1 ms; longer waits wake up early and re-arm. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** What the scheduler remembers per label between ticks. */
interface Seen {
  /** Schedule, type and status as last seen: a change means "from now on". */
  key: string
  /** Slots at or before this instant are not this process's to run (already handled or predating a change). */
  since: number
}

/**
 * Runs dynamic labels on their schedules (docs/semantics.md#schedules).
 *
 * - Only enabled dynamic labels with a daily/weekly/monthly schedule are scheduled.
 * - Before triggering a slot the scheduler claims it in the database; only the winner
 *   triggers. So a slot runs at most once across restarts, crashes and several processes.
 *   A slot claimed whose run then crashed (or whose trigger failed) counts as run: it is
 *   not retried, the failed run tells operators why, and the next slot runs normally.
 * - At start, a label whose latest due slot (not before the label's creation) is newer than its
 *   last claimed one gets exactly one catch-up run, as of the start time — however many slots it
 *   missed. A change to a label's schedule, type or status takes effect from the moment a running
 *   process sees it: the slot that passed before it is claimed then without a run, so no later
 *   start catches it up.
 * - While running, one timer is armed for the earliest next slot of all labels. A scheduled
 *   run's asOf is its slot instant, so late timers don't shift results or history dates.
 * - Call refresh() whenever labels change: a new, edited, enabled or disabled label takes
 *   effect from that moment (enabling a label does not run the slots it missed while disabled).
 */
export class Scheduler {
  private readonly opts: SchedulerOptions
  private readonly seen = new Map<string, Seen>()
  private timer: unknown = null
  private chain: Promise<void> = Promise.resolve()
  private started = false
  private stopped = false
  /** When the labels were last listed (catch-up or tick): a label missing then was created after. */
  private listedAt = -Infinity

  constructor(opts: SchedulerOptions) {
    assertTimeZone(opts.tz)
    this.opts = opts
  }

  /** Runs the catch-up pass, then arms the timer. */
  start(): Promise<void> {
    if (this.started) return this.chain
    this.started = true
    return this.enqueue(() => this.catchUp())
  }

  /** Labels changed: runs anything due, remembers changes, re-arms the timer. */
  refresh(): Promise<void> {
    if (!this.started || this.stopped) return this.chain
    return this.enqueue(() => this.tick())
  }

  /** The label's next run time (ISO) for the UI, or null when it isn't scheduled. */
  nextRunAt(label: Label): string | null {
    if (!isScheduled(label)) return null
    return nextRunAfter(label.schedule, this.opts.clock.now(), this.opts.tz)?.toISOString() ?? null
  }

  /** Resolves when no catch-up or tick is in progress. */
  settled(): Promise<void> {
    return this.chain
  }

  /** Disarms the timer and waits for a tick in progress. */
  async stop(): Promise<void> {
    this.stopped = true
    this.disarm()
    await this.chain
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return
      await step()
      if (!this.stopped) this.arm()
    })
    return this.chain
  }

  private async catchUp(): Promise<void> {
    const now = this.opts.clock.now()
    this.listedAt = now.getTime()
    for (const label of this.opts.listLabels()) {
      this.seen.set(label.id, { key: keyOf(label), since: now.getTime() })
      if (!isScheduled(label)) continue
      try {
        const due = dueSlot(label, now, this.opts.tz)
        if (!due) continue
        // A slot passed before a change (enabled, given this schedule, …) was claimed by the
        // process that saw the change (tick), so it is not caught up here. Not the label's
        // `updatedAt`: a browser writes its own clock there.
        const last = await this.opts.slots.last(label.id)
        if (last !== null && new Date(last).getTime() >= due.getTime()) continue
        await this.claimAndTrigger(label.id, due, 'catchup', now.toISOString())
      } catch (e) {
        this.opts.onError?.(e, label.id)
      }
    }
  }

  private async tick(): Promise<void> {
    const now = this.opts.clock.now()
    const labels = this.opts.listLabels()
    const listedBefore = this.listedAt
    this.listedAt = now.getTime()
    for (const label of labels) {
      const key = keyOf(label)
      const seen = this.seen.get(label.id)
      // First sight after start: a label created since; its slots count from its creation, which
      // lies between the previous listing (it wasn't there) and now, whatever createdAt says.
      const since = !seen
        ? createdWithin(label, listedBefore, now.getTime())
        : seen.key !== key
          ? now.getTime()
          : seen.since
      this.seen.set(label.id, { key, since })
      if (!isScheduled(label)) continue
      let due: Date | null
      try {
        due = dueSlot(label, now, this.opts.tz)
      } catch (e) {
        // One label's bad schedule must not stop the others (nor break the chain of ticks).
        this.opts.onError?.(e, label.id)
        continue
      }
      if (due && seen && seen.key !== key && due.getTime() <= since) {
        // Changed now: its latest slot passed before the change, so it is not this label's to
        // run, here or at a later start's catch-up (docs/semantics.md#schedules). Claimed
        // without a run, by the server's clock.
        await this.passSlot(label.id, due)
        continue
      }
      if (!due || due.getTime() <= since) continue
      try {
        await this.claimAndTrigger(label.id, due, 'schedule', due.toISOString())
      } catch (e) {
        this.opts.onError?.(e, label.id)
        continue // `since` stays, so the next tick retries while this slot is the latest due
      }
      this.seen.set(label.id, { key, since: now.getTime() })
    }
    const present = new Set(labels.map((l) => l.id))
    for (const id of this.seen.keys()) if (!present.has(id)) this.seen.delete(id)
  }

  /** Claims a slot that is not to run (passed before a change); a failure is only reported. */
  private async passSlot(labelId: string, slot: Date): Promise<void> {
    try {
      await this.opts.slots.claim(labelId, slot.toISOString())
    } catch (e) {
      this.opts.onError?.(e, labelId)
    }
  }

  private async claimAndTrigger(labelId: string, slot: Date, trigger: RunTrigger, asOf: string): Promise<void> {
    if (!(await this.opts.slots.claim(labelId, slot.toISOString()))) return
    try {
      await this.opts.queue.trigger(labelId, trigger, asOf)
    } catch (e) {
      // The slot stays claimed (see the class comment); report and move on.
      this.opts.onError?.(e, labelId)
    }
  }

  private arm(): void {
    this.disarm()
    const now = this.opts.clock.now().getTime()
    let next = Infinity
    for (const label of this.opts.listLabels()) {
      if (!isScheduled(label)) continue
      let t: number | undefined
      try {
        t = nextRunAfter(label.schedule, new Date(now), this.opts.tz)?.getTime()
      } catch (e) {
        this.opts.onError?.(e, label.id)
        continue
      }
      if (t !== undefined && t < next) next = t
    }
    if (next === Infinity) return
    const delay = Math.min(Math.max(0, next - now), MAX_TIMER_MS)
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = null
      void this.enqueue(() => this.tick())
    }, delay)
  }

  private disarm(): void {
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer)
    this.timer = null
  }
}

/** Whether the scheduler runs this label at all. */
export function isScheduled(label: Label): boolean {
  return label.enabled && label.labelType === 'dynamic' && label.schedule.kind !== 'once'
}

/**
 * The label's creation time as a number, kept within [from, to]. The server stamps `createdAt`
 * when it first integrates a label (shared/doc/creation-stamps.ts), but a label stored before
 * that, or a junk value, may hold a client's clock: a year ahead would keep it from running for
 * a year, a year behind would run slots from before it existed. Unparseable: `to`.
 */
function createdWithin(label: Label, from: number, to: number): number {
  const t = Date.parse(label.createdAt)
  return Number.isNaN(t) ? to : Math.min(to, Math.max(from, t))
}

/** The label's latest slot at or before `now`, unless it predates the label. */
function dueSlot(label: Label, now: Date, tz: string): Date | null {
  const due = lastSlotAtOrBefore(label.schedule, now, tz)
  if (!due || due.getTime() < createdWithin(label, -Infinity, now.getTime())) return null
  return due
}

function keyOf(label: Label): string {
  return JSON.stringify([label.enabled, label.labelType, label.schedule])
}
