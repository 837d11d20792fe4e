import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { afterInputQuiet } from '../../client/after-input-quiet.ts'

describe('afterInputQuiet: background work waits while the operator types (issue 9)', () => {
  let target: EventTarget
  let idle: Array<() => void>
  const runIdle = () => idle.splice(0).forEach((cb) => cb())
  beforeEach(() => {
    vi.useFakeTimers()
    target = new EventTarget()
    idle = []
  })
  afterEach(() => vi.useRealTimers())

  it('runs once the page had no input for quietMs and is idle', () => {
    const fn = vi.fn()
    afterInputQuiet(fn, { quietMs: 2000, target, idle: (cb) => idle.push(cb) })
    vi.advanceTimersByTime(1999)
    runIdle()
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1)
    expect(fn).not.toHaveBeenCalled() // waits for idle too
    runIdle()
    expect(fn).toHaveBeenCalledTimes(1)
    vi.advanceTimersByTime(10_000)
    target.dispatchEvent(new Event('keydown'))
    vi.advanceTimersByTime(10_000)
    runIdle()
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('does not run while keys come faster than quietMs, however long that lasts', () => {
    const fn = vi.fn()
    afterInputQuiet(fn, { quietMs: 2000, target, idle: (cb) => idle.push(cb) })
    for (let t = 0; t < 30_000; t += 300) {
      target.dispatchEvent(new Event(t % 600 ? 'keydown' : 'pointerdown'))
      vi.advanceTimersByTime(300)
      runIdle()
    }
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(2000)
    runIdle()
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('input between the quiet time and the idle callback waits for another quiet time', () => {
    const fn = vi.fn()
    afterInputQuiet(fn, { quietMs: 2000, target, idle: (cb) => idle.push(cb) })
    vi.advanceTimersByTime(2000)
    target.dispatchEvent(new Event('wheel'))
    runIdle()
    expect(fn).not.toHaveBeenCalled()
    vi.advanceTimersByTime(2000)
    runIdle()
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('cancelled, never runs', () => {
    const fn = vi.fn()
    const cancel = afterInputQuiet(fn, { quietMs: 2000, target, idle: (cb) => idle.push(cb) })
    vi.advanceTimersByTime(2000)
    cancel()
    runIdle()
    vi.advanceTimersByTime(10_000)
    runIdle()
    expect(fn).not.toHaveBeenCalled()
  })
})
