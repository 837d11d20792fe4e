/** What counts as the operator doing something: typing, clicking, scrolling. */
const INPUT_EVENTS = ['keydown', 'pointerdown', 'wheel', 'scroll', 'input'] as const

/** How long the page must go without input before background work starts (ms). */
export const INPUT_QUIET_MS = 2000

/**
 * Plain: runs `fn` once the page has had no input for `quietMs` and is then idle
 * (requestIdleCallback, or at once where there is none). For background work that competes with
 * the page for the CPU (the preview's engine boots PGlite in a worker: on a 2-core machine that
 * slowed filter keystrokes after a load, issue 9): it waits while the operator types or scrolls.
 * Returns a cancel function. `target` and `idle` are for tests.
 */
export function afterInputQuiet(
  fn: () => void,
  o: {
    quietMs?: number
    target?: EventTarget
    idle?: (cb: () => void) => void
  } = {},
): () => void {
  const quietMs = o.quietMs ?? INPUT_QUIET_MS
  const target = o.target ?? window
  const idle =
    o.idle ??
    ((cb: () => void) =>
      typeof requestIdleCallback === 'function' ? requestIdleCallback(cb, { timeout: 1000 }) : cb())
  let timer: ReturnType<typeof setTimeout> | null = null
  let done = false
  const stop = () => {
    done = true
    if (timer !== null) clearTimeout(timer)
    timer = null
    for (const e of INPUT_EVENTS) target.removeEventListener(e, onInput, { capture: true })
  }
  const arm = () => {
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = null
      idle(() => {
        if (done || timer !== null) return // input came meanwhile: the timer was armed again
        stop()
        fn()
      })
    }, quietMs)
  }
  function onInput() {
    if (!done) arm()
  }
  for (const e of INPUT_EVENTS) target.addEventListener(e, onInput, { capture: true, passive: true })
  arm()
  return stop
}
