import type { Clock } from '../../../server/runs/scheduler.ts'

/** A clock whose time moves only when the test says so; timers fire in order as it passes them. */
export class FakeClock implements Clock {
  private t: number
  private seq = 0
  private readonly timers = new Map<number, { at: number; fn: () => void }>()
  /** Every delay ever requested, to check clamping. */
  readonly delays: number[] = []

  constructor(start: string | Date) {
    this.t = new Date(start).getTime()
  }

  now(): Date {
    return new Date(this.t)
  }

  setTimeout(fn: () => void, ms: number): number {
    this.delays.push(ms)
    const id = ++this.seq
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  pending(): number {
    return this.timers.size
  }

  /**
   * Moves time to `target`, firing each timer at its due time in order and awaiting
   * `settle` after each, so async work a timer starts finishes before time moves on.
   */
  async advanceTo(target: string | Date, settle: () => Promise<void>): Promise<void> {
    const end = new Date(target).getTime()
    for (;;) {
      let nextId: number | null = null
      let nextAt = Infinity
      for (const [id, tm] of this.timers)
        if (tm.at < nextAt) {
          nextAt = tm.at
          nextId = id
        }
      if (nextId === null || nextAt > end) break
      const { fn } = this.timers.get(nextId)!
      this.timers.delete(nextId)
      this.t = Math.max(this.t, nextAt)
      fn()
      await settle()
    }
    this.t = Math.max(this.t, end)
  }
}
