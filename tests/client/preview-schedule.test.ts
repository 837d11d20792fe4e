import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { makePreviewSchedule } from '../../client/preview/preview-schedule.ts'

/**
 * When the editor's preview runs (issue 8): one's own edits debounced with a maximum wait, other
 * operators' edits never restarting the wait, runs never overlapping. Fake timers: the order of
 * events is the subject, not how long anything takes.
 */
describe('preview schedule', () => {
  beforeEach(() => void vi.useFakeTimers())
  afterEach(() => void vi.useRealTimers())

  const o = { debounceMs: 450, maxWaitMs: 1500 }
  /** A schedule whose runs are recorded and end when the test says so. */
  const recorder = () => {
    const runs: string[] = []
    const ends: Array<() => void> = []
    const [schedule, cancel] = makePreviewSchedule<string>((v) => {
      runs.push(v)
      return new Promise<void>((res) => ends.push(res))
    }, o)
    const endRun = async () => {
      ends.shift()?.()
      await vi.advanceTimersByTimeAsync(0) // the run's `finally`
    }
    return { runs, schedule, cancel, endRun }
  }

  it("runs one's own edit once the operator pauses, with the latest value", async () => {
    const { runs, schedule } = recorder()
    schedule.change('a', true)
    await vi.advanceTimersByTimeAsync(300)
    schedule.change('ab', true)
    await vi.advanceTimersByTimeAsync(300)
    expect(runs).toEqual([]) // the second keystroke restarted the wait
    await vi.advanceTimersByTimeAsync(150)
    expect(runs).toEqual(['ab'])
  })

  it("refreshes at least every maxWait while the operator's own typing goes on", async () => {
    const { runs, schedule, endRun } = recorder()
    for (let k = 0; k < 40; k++) {
      schedule.change(`own ${k}`, true)
      await vi.advanceTimersByTimeAsync(100) // never a 450 ms pause
      if (runs.length) await endRun()
    }
    // 4 s of typing: runs at 1.5 s and 3 s, not only after the typing stops.
    expect(runs).toEqual(['own 14', 'own 29'])
  })

  it("refreshes while other operators type continuously: their edits don't restart the wait", async () => {
    const { runs, schedule, endRun } = recorder()
    for (let k = 0; k < 20; k++) {
      schedule.change(`remote ${k}`, false)
      await vi.advanceTimersByTimeAsync(100)
      if (runs.length > 0 && k % 5 === 4) await endRun()
    }
    expect(runs.length).toBeGreaterThanOrEqual(3) // 2 s of remote typing, one run each 450 ms or so
    expect(runs[0]).toBe('remote 4') // the first change's wait ended after the fifth
  })

  it("another operator's edit doesn't restart the wait for the operator's own edit", async () => {
    const { runs, schedule } = recorder()
    schedule.change('mine', true)
    await vi.advanceTimersByTimeAsync(400)
    schedule.change('mine + theirs', false)
    await vi.advanceTimersByTimeAsync(50)
    expect(runs).toEqual(['mine + theirs'])
  })

  it('never overlaps runs: one due during a run starts when it ends, with the latest value', async () => {
    const { runs, schedule, endRun } = recorder()
    schedule.change('first', true)
    await vi.advanceTimersByTimeAsync(450)
    expect(runs).toEqual(['first'])
    schedule.change('second', false)
    schedule.change('third', false)
    await vi.advanceTimersByTimeAsync(2000)
    expect(runs).toEqual(['first']) // still in flight
    await endRun()
    expect(runs).toEqual(['first', 'third'])
    await endRun()
    await vi.advanceTimersByTimeAsync(2000)
    expect(runs).toEqual(['first', 'third']) // nothing left to preview
  })

  it('clear drops what waits; cancel stops the wait', async () => {
    const { runs, schedule, cancel } = recorder()
    schedule.change('a', true)
    schedule.clear()
    await vi.advanceTimersByTimeAsync(2000)
    expect(runs).toEqual([])
    schedule.change('b', false)
    cancel()
    await vi.advanceTimersByTimeAsync(2000)
    expect(runs).toEqual([])
  })
})
