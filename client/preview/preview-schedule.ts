/**
 * When the editor's live preview runs (issue 8). The operator's own edits of the rule are
 * debounced (a run starts once they pause for `debounceMs`), but never for longer than `maxWaitMs`
 * after the first change not yet previewed, so a preview also refreshes while someone keeps typing.
 * Other operators' edits of the shared draft don't restart the wait: they only start one when none
 * is pending, so a page's preview follows a draft others type into continuously. Runs never
 * overlap: a run due while one is in flight starts when that one ends, with the latest value (a
 * preview slower than the typing still shows results, one after the other).
 */
export const PREVIEW_DEBOUNCE_MS = 150
export const PREVIEW_MAX_WAIT_MS = 1000

export interface PreviewSchedule<T> {
  /** A new value to preview: `own` if this operator changed it (restarts the debounce), else another's change. */
  change(value: T, own: boolean): void
  /** Nothing to preview any more: drops what waits (the run in flight, if any, still ends). */
  clear(): void
}

/** Plain: `run` previews a value; the returned cleanup cancels the wait. */
export function makePreviewSchedule<T>(
  run: (value: T) => Promise<void>,
  o: { debounceMs: number; maxWaitMs: number } = { debounceMs: PREVIEW_DEBOUNCE_MS, maxWaitMs: PREVIEW_MAX_WAIT_MS },
): [PreviewSchedule<T>, () => void] {
  let wanted: { value: T } | null = null
  let since = 0 // when the oldest change not yet previewed came
  let timer: ReturnType<typeof setTimeout> | undefined
  let busy = false
  let due = false // the wait ended during a run: start as soon as it ends
  const start = () => {
    timer = undefined
    if (!wanted) return
    if (busy) {
      due = true
      return
    }
    const { value } = wanted
    wanted = null
    due = false
    busy = true
    void run(value).finally(() => {
      busy = false
      if (due) start()
    })
  }
  const cancel = () => {
    clearTimeout(timer)
    timer = undefined
  }
  const schedule: PreviewSchedule<T> = {
    change(value, own) {
      const now = Date.now()
      if (!wanted) since = now
      wanted = { value }
      // Another operator's change leaves a pending wait (or an ended one) as it is.
      if (!own && (timer !== undefined || due)) return
      const at = Math.min(now + o.debounceMs, since + o.maxWaitMs)
      cancel()
      if (at <= now) return start()
      due = false
      timer = setTimeout(start, at - now)
    },
    clear() {
      cancel()
      wanted = null
      due = false
    },
  }
  return [schedule, cancel]
}
