import { createEffect, createMemo, createSignal, onCleanup, onMount, type Accessor } from 'solid-js'

/**
 * A window over a long list of rows of known heights (the label tree, the overview table): only
 * the rows in the scrolled viewport, plus an overscan, are rendered (issue 9, "Scale").
 */

/** Tops of rows of the given heights, and the total height last: offsets[i] is row i's top. */
export function rowOffsets(heights: readonly number[]): number[] {
  const out = new Array<number>(heights.length + 1)
  out[0] = 0
  for (let i = 0; i < heights.length; i++) out[i + 1] = (out[i] as number) + (heights[i] as number)
  return out
}

/** The rows [start, end) that meet [top - overscan, top + height + overscan] (px, from the list's top). */
export function rowRange(
  offsets: readonly number[],
  top: number,
  height: number,
  overscan: number,
): { start: number; end: number } {
  const n = offsets.length - 1
  if (n <= 0) return { start: 0, end: 0 }
  const from = top - overscan
  const to = top + height + overscan
  // The last row starting at or above `from`, then the first row starting at or below `to`.
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((offsets[mid] as number) <= from) lo = mid
    else hi = mid - 1
  }
  let end = lo
  while (end < n && (offsets[end] as number) < to) end++
  return { start: lo, end: Math.max(end, lo + 1) }
}

export interface RowWindow {
  /** The rows to render: all of them up to `allUpTo` rows, else the viewport's plus overscan. */
  range: Accessor<{ start: number; end: number }>
  /** Reads where the list is in the viewport again (after a scroll the code made, e.g. focus()). */
  measure(): void
  /** The ref of the element holding the rows. */
  attach(list: HTMLElement): void
}

/**
 * The rendered window of the rows of the `attach`ed element: the rows that meet the browser's
 * viewport (whichever ancestor scrolls), read again on every scroll in the page and on resize.
 * Before it is mounted, the first screen is rendered.
 */
export function createRowWindow(o: {
  offsets: Accessor<readonly number[]>
  /** px rendered above and below the viewport. */
  overscan: number
  /** Up to this many rows every row is rendered (read reactively when a function). */
  allUpTo: number | Accessor<number>
  /**
   * When the rows change (new offsets: a filter keystroke, the first render), render the rows in
   * the viewport first and the overscan after the next frame: a keystroke that opens every group
   * of a large tree then mounts only what is seen before its frame (issue 9, keystroke p95).
   */
  viewportFirst?: boolean
}): RowWindow {
  const [view, setView] = createSignal({ top: 0, height: typeof window === 'undefined' ? 1000 : window.innerHeight })
  let list: HTMLElement | undefined
  const measure = () => {
    if (!list?.isConnected) return
    const top = -list.getBoundingClientRect().top
    const height = window.innerHeight
    const v = view()
    if (v.top !== top || v.height !== height) setView({ top, height })
  }
  const attach = (el: HTMLElement) => {
    list = el
    onMount(() => {
      // Scroll events do not bubble: caught on the way down, from any scrolling ancestor.
      document.addEventListener('scroll', measure, { capture: true, passive: true })
      window.addEventListener('resize', measure)
      // When the next frame is laid out anyway, not now: a list mounted with a large document
      // (the overview at the first sync) forced a layout of the whole page in the middle of rendering it.
      const frame = requestAnimationFrame(measure)
      onCleanup(() => {
        cancelAnimationFrame(frame)
        document.removeEventListener('scroll', measure, { capture: true })
        window.removeEventListener('resize', measure)
      })
    })
  }
  // The offsets whose overscan is rendered (viewportFirst): set after the frame that showed them.
  const [settled, setSettled] = createSignal<readonly number[] | null>(null)
  if (o.viewportFirst && typeof requestAnimationFrame === 'function') {
    let frame = 0
    let task: ReturnType<typeof setTimeout> | undefined
    createEffect(() => {
      const offsets = o.offsets()
      cancelAnimationFrame(frame)
      clearTimeout(task)
      frame = requestAnimationFrame(() => {
        task = setTimeout(() => setSettled(() => offsets), 0)
      })
    })
    onCleanup(() => {
      cancelAnimationFrame(frame)
      clearTimeout(task)
    })
  }
  const range = createMemo(
    () => {
      const offsets = o.offsets()
      const n = offsets.length - 1
      if (n <= (typeof o.allUpTo === 'function' ? o.allUpTo() : o.allUpTo)) return { start: 0, end: n }
      const v = view()
      const overscan = !o.viewportFirst || settled() === offsets ? o.overscan : 0
      return rowRange(offsets, v.top, v.height, overscan)
    },
    undefined,
    { equals: (a, b) => a.start === b.start && a.end === b.end },
  )
  return { range, measure, attach }
}
