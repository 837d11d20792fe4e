import { hcl, lab, range, tickIncrement } from 'd3'

/**
 * "Nice" whole-number ticks from 0 for counts: a step of 1, 2, 5, 10, 20, … so that no two ticks
 * read the same (a largest count of 1 gave "0 0 0 1 1 1"). `top` is the last tick (≥ max), the
 * axis's end.
 */
export function countTicks(max: number, count = 5): { ticks: number[]; top: number } {
  const m = Math.max(1, Math.ceil(Number.isFinite(max) ? max : 1))
  const inc = tickIncrement(0, m, Math.max(1, count))
  const step = Math.max(1, inc) // a negative increment is a fraction of 1: counts step by 1
  const top = Math.ceil(m / step) * step
  return { ticks: range(0, top + step / 2, step), top }
}

/**
 * Nice share ticks (0–1) for proportions: steps of 1, 2, 5, 10, 20, 25, 50 percent, ending on the
 * first tick ≥ max; shares are shown with one decimal so 0.1% is the finest step.
 */
export function shareTicks(max: number, count = 5): { ticks: number[]; top: number } {
  const m = Math.min(1, Math.max(0.001, Number.isFinite(max) ? max : 0.001))
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1]
  const step = steps.find((s) => m / s <= count) ?? 1
  const n = Math.ceil(m / step - 1e-9)
  const ticks = range(0, n + 1).map((i) => Math.round(i * step * 1e6) / 1e6)
  return { ticks, top: ticks[ticks.length - 1]! }
}

/** Tableau 10 (colour-blind friendly): the first ten series or slices. */
export const tableau10 = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
]

/** The colour of the "Other" slice or series (grey, distinct from every palette colour). */
export const OTHER_COLOR = '#8c8c8c'

let extended: string[] | null = null

/**
 * A categorical palette of 60 colours: Tableau 10, then colours picked greedily from a grid of
 * hues, lightnesses and chromas so that each is as far as possible (CIELAB distance) from every
 * colour already picked. Deterministic, so a value keeps its colour across renders.
 */
export function categoricalPalette(): readonly string[] {
  if (extended) return extended
  const chosen = tableau10.map((c) => lab(c))
  const candidates = []
  for (let h = 0; h < 360; h += 8)
    for (const l of [38, 50, 62, 74])
      for (const c of [35, 55]) {
        const rgb = hcl(h, c, l).rgb()
        if (rgb.displayable()) candidates.push(lab(rgb.formatHex()))
      }
  const dist = (a: ReturnType<typeof lab>, b: ReturnType<typeof lab>) => Math.hypot(a.l - b.l, a.a - b.a, a.b - b.b)
  const grey = lab(OTHER_COLOR)
  const minTo = candidates.map((c) => Math.min(dist(c, grey), ...chosen.map((x) => dist(c, x))))
  while (chosen.length < 60) {
    let best = 0
    for (let i = 1; i < candidates.length; i++) if (minTo[i]! > minTo[best]!) best = i
    const pick = candidates[best]!
    chosen.push(pick)
    for (let i = 0; i < candidates.length; i++) minTo[i] = Math.min(minTo[i]!, dist(candidates[i]!, pick))
  }
  extended = chosen.map((c, i) => (i < tableau10.length ? tableau10[i]! : c.formatHex()))
  return extended
}

/** Colour of the i-th series or slice: distinct for the first 60, then repeating. */
export function colorAt(i: number): string {
  const p = categoricalPalette()
  return p[i % p.length]!
}

/** CIELAB distance between two colours (ΔE*76), for tests and the legend's contrast choice. */
export function colorDistance(a: string, b: string): number {
  const x = lab(a)
  const y = lab(b)
  return Math.hypot(x.l - y.l, x.a - y.a, x.b - y.b)
}
