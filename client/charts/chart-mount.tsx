import { createElementSize } from '@solid-primitives/resize-observer'
import { easeCubicOut, interpolate } from 'd3'
import { createEffect, createSignal, onCleanup, type JSX } from 'solid-js'

/** Width used before the host has been laid out (e.g. inside a closed <details>). */
const FALLBACK_WIDTH = 760
/** Length of the transition when the data (not the size) changes. */
export const TRANSITION_MS = 250

const reducedMotion = () => typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches

/**
 * Mounts a pure chart renderer's <svg> at the width of its card, re-rendering when the card is
 * resized (ResizeObserver) or the inputs change; the framework only mounts. It also gives every
 * chart the same interaction: items carrying `data-tip` show a tooltip on hover and on keyboard
 * focus; the chart is one Tab stop and the arrow keys (Home/End) move between its items.
 * When the data changes, bars and lines move from where they were (a short transition).
 */
export function ChartMount(props: {
  render: (width: number) => SVGSVGElement
  class?: string
  testId?: string
}): JSX.Element {
  const [host, setHost] = createSignal<HTMLDivElement>()
  let tip: HTMLDivElement | undefined
  const size = createElementSize(host)
  let lastWidth = 0
  let focusIndex = 0

  createEffect(() => {
    const el = host()
    if (!el) return
    const measured = Math.floor(size.width ?? 0)
    const width = measured > 0 ? measured : FALLBACK_WIDTH
    const svg = props.render(width)
    const old = el.querySelector('svg')
    const resized = width !== lastWidth
    lastWidth = width
    if (old) old.replaceWith(svg)
    else el.prepend(svg)
    hideTip()
    const items = itemsOf(svg)
    focusIndex = Math.min(focusIndex, Math.max(0, items.length - 1))
    items.forEach((it, i) => it.setAttribute('tabindex', i === focusIndex ? '0' : '-1'))
    if (old && !resized && !reducedMotion()) animateFrom(old, svg)
  })
  onCleanup(() => host()?.querySelector('svg')?.remove())

  const itemsOf = (root: ParentNode | undefined) => [...(root?.querySelectorAll<SVGElement>('[data-tip]') ?? [])]

  function showTip(item: Element, at?: { x: number; y: number }) {
    const el = host()
    if (!el || !tip) return
    const text = item.getAttribute('data-tip') ?? ''
    if (!text) return
    for (const a of el.querySelectorAll('.item.active')) a.classList.remove('active')
    item.classList.add('active')
    tip.textContent = text
    tip.hidden = false
    const box = el.getBoundingClientRect()
    const r = item.getBoundingClientRect()
    const x = at ? at.x - box.left : r.left + r.width / 2 - box.left
    const y = at ? at.y - box.top : r.top - box.top
    // Keep it inside the card: flip to the left of the pointer near the right edge.
    const w = tip.offsetWidth
    const left = x + 14 + w > box.width ? Math.max(0, x - 14 - w) : x + 14
    tip.style.left = `${left}px`
    tip.style.top = `${Math.max(0, y - tip.offsetHeight - 8)}px`
  }
  function hideTip() {
    if (tip) tip.hidden = true
    for (const a of host()?.querySelectorAll('.item.active') ?? []) a.classList.remove('active')
  }
  const itemAt = (t: EventTarget | null) => (t instanceof Element ? t.closest('[data-tip]') : null)

  const onKeyDown = (e: KeyboardEvent) => {
    const items = itemsOf(host())
    const cur = itemAt(e.target)
    if (!cur || items.length === 0) return
    const i = items.indexOf(cur as SVGElement)
    const next =
      e.key === 'ArrowRight' || e.key === 'ArrowDown'
        ? Math.min(items.length - 1, i + 1)
        : e.key === 'ArrowLeft' || e.key === 'ArrowUp'
          ? Math.max(0, i - 1)
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? items.length - 1
              : null
    if (e.key === 'Escape') {
      hideTip()
      return
    }
    if (next === null) return
    e.preventDefault()
    cur.setAttribute('tabindex', '-1')
    items[next]!.setAttribute('tabindex', '0')
    focusIndex = next
    items[next]!.focus()
  }

  return (
    <div
      class={`chart-host ${props.class ?? ''}`}
      ref={setHost}
      data-testid={props.testId}
      onPointerMove={(e) => {
        const it = itemAt(e.target)
        if (it) showTip(it, { x: e.clientX, y: e.clientY })
        else hideTip()
      }}
      onPointerLeave={hideTip}
      onFocusIn={(e) => {
        const it = itemAt(e.target)
        if (it) {
          focusIndex = itemsOf(host()).indexOf(it as SVGElement)
          showTip(it)
        }
      }}
      onFocusOut={hideTip}
      onKeyDown={onKeyDown}
    >
      <div
        class="chart-tip"
        role="tooltip"
        ref={tip}
        hidden
        data-testid={props.testId ? `${props.testId}-tip` : undefined}
      />
    </div>
  )
}

/** Number of path commands, to tell whether two paths can be interpolated point by point. */
const commands = (d: string | null) => (d ?? '').replace(/[^MLHVCSQTAZmlhvcsqtaz]/g, '').length

/**
 * Tweens attributes of `el` from `from` to its current values over TRANSITION_MS (requestAnimationFrame
 * and d3's interpolators; not d3-transition, whose selection.transition() is a side effect of an
 * import that the bundler drops from the 'd3' bundle).
 */
function tween(el: Element, from: Record<string, string>): void {
  const steps = Object.entries(from).map(([name, a]) => {
    const b = el.getAttribute(name) ?? (name === 'opacity' ? '1' : a)
    return { name, f: interpolate(a, b) as (t: number) => string, b }
  })
  for (const s of steps) el.setAttribute(s.name, s.f(0))
  const start = performance.now()
  const frame = (now: number) => {
    const t = Math.min(1, (now - start) / TRANSITION_MS)
    const k = easeCubicOut(t)
    for (const s of steps) el.setAttribute(s.name, t >= 1 ? s.b : String(s.f(k)))
    if (t < 1 && el.isConnected) requestAnimationFrame(frame)
  }
  requestAnimationFrame(frame)
}

/**
 * Moves the new chart's marks from the old chart's positions: rects (bars, columns) by their
 * geometry, lines by their path when it has the same points; new marks fade in.
 */
function animateFrom(old: SVGSVGElement, svg: SVGSVGElement): void {
  const before = new Map<string, Element>()
  for (const el of old.querySelectorAll('g[data-key]')) before.set(el.getAttribute('data-key') ?? '', el)
  for (const el of svg.querySelectorAll('g[data-key]')) {
    const prev = before.get(el.getAttribute('data-key') ?? '')
    const rect = el.querySelector(':scope > rect')
    const path = el.querySelector(':scope > path')
    if (prev && rect) {
      const from = prev.querySelector(':scope > rect')
      if (!from) continue
      const attrs: Record<string, string> = {}
      for (const a of ['x', 'y', 'width', 'height']) attrs[a] = from.getAttribute(a) ?? '0'
      tween(rect, attrs)
    } else if (prev && path && el.classList.contains('series')) {
      const d = prev.querySelector(':scope > path')?.getAttribute('d') ?? null
      if (d && commands(d) === commands(path.getAttribute('d'))) tween(path, { d })
    } else if (!prev) tween(el, { opacity: '0' })
  }
}
