import { scaleBand, scaleLinear } from 'd3'
import { formatCount, formatPercent } from '../ui/format.ts'
import type { ChartDatum } from './chart-data.ts'
import { countTicks } from './scales.ts'
import { fitText, lineHeight, textWidth, wrapText } from './text.ts'

export type BarOrientation = 'bar' | 'column'

export interface BarOptions {
  orientation: BarOrientation
  width: number
  /** For 'bar' the height grows with the number of items unless given; columns follow the width. */
  height?: number
  /** Locale of the numbers (undefined = the browser's). */
  locale?: string
}

export interface BarGeom extends ChartDatum {
  x: number
  y: number
  width: number
  height: number
  /** The tooltip: value, users and share. */
  tip: string
}

/**
 * A text placed by the layout, in plot coordinates. `lines` are stacked downwards; `angle` is a
 * rotation about (x, y) in degrees. `box` is its bounding box (plot coordinates), from the
 * estimated text width, which is what "never overlaps" is checked against.
 */
export interface TextMark {
  key: string
  x: number
  y: number
  lines: string[]
  anchor: 'start' | 'middle' | 'end'
  angle: number
  /** Vertical alignment of the first line: baseline offset in em (0.32 = centred, 0.71 = hanging). */
  dy: number
  box: { x0: number; y0: number; x1: number; y1: number }
}

/** How the category axis labels were fitted, decided from their measured widths. */
export type LabelMode = 'horizontal' | 'wrap' | 'rotate45' | 'rotate90'

export interface BarLayout {
  width: number
  height: number
  margin: { top: number; right: number; bottom: number; left: number }
  bars: BarGeom[]
  /** Value-axis ticks: position along the value axis (px from the plot origin), the count and its label. */
  ticks: Array<{ at: number; value: number; label: string }>
  /** Category labels actually drawn (thinned when they cannot all fit). */
  categoryLabels: TextMark[]
  /** Value labels actually drawn (none when they cannot fit: the tooltip has them). */
  valueLabels: TextMark[]
  labelMode: LabelMode
  /** Every k-th category label is drawn (1 = all). */
  thinEvery: number
}

export const FONT = 12
const ROW = 26
/** Longest category label on a rotated axis, px (longer ones end in "…"; the tooltip has them whole). */
const MAX_ROTATED = 120

const tipOf = (d: ChartDatum, locale?: string) =>
  `${d.label}: ${formatCount(d.users, { locale })} users (${formatPercent(d.proportion, { locale })})`

/**
 * Pure geometry of a bar chart (horizontal bars, one row per value) or a column chart (vertical
 * columns). Lengths are proportional to users; the value axis has whole-number ticks and ends on
 * the first tick at or above the largest bar. Margins, label rotation, wrapping and thinning are
 * decided from the measured label widths so no two labels overlap and none is clipped.
 */
export function layoutBars(data: readonly ChartDatum[], o: BarOptions): BarLayout {
  return o.orientation === 'bar' ? layoutHorizontal(data, o) : layoutColumns(data, o)
}

function layoutHorizontal(data: readonly ChartDatum[], o: BarOptions): BarLayout {
  const loc = { locale: o.locale }
  const lh = lineHeight(FONT)
  const amounts = data.map((d) => `${formatCount(d.users, loc)} · ${formatPercent(d.proportion, loc)}`)
  const longest = Math.max(0, ...data.map((d) => textWidth(d.label, FONT)))
  const left = Math.ceil(Math.min(Math.max(40, longest + 16), Math.max(60, o.width * 0.32)))
  const right = Math.round(Math.max(24, ...amounts.map((a) => textWidth(a, FONT) + 12)))
  const margin = { top: 8, right, bottom: 26, left }
  const height = o.height ?? margin.top + margin.bottom + Math.max(1, data.length) * ROW
  const inner = { w: Math.max(10, o.width - margin.left - margin.right), h: height - margin.top - margin.bottom }
  const y = scaleBand<string>()
    .domain(data.map((d) => d.key))
    .range([0, inner.h])
    .padding(0.2)
  const { ticks, top } = countTicks(Math.max(0, ...data.map((d) => d.users)), Math.max(2, Math.floor(inner.w / 90)))
  const x = scaleLinear().domain([0, top]).range([0, inner.w])
  const bars = data.map((d) => ({
    ...d,
    x: 0,
    y: y(d.key) ?? 0,
    width: x(d.users),
    height: y.bandwidth(),
    tip: tipOf(d, o.locale),
  }))
  const categoryLabels: TextMark[] = bars.map((b) => {
    const text = fitText(b.label, left - 12, FONT)
    const cy = b.y + b.height / 2
    const w = textWidth(text, FONT)
    return {
      key: b.key,
      x: -8,
      y: cy,
      lines: [text],
      anchor: 'end',
      angle: 0,
      dy: 0.32,
      box: { x0: -8 - w, y0: cy - lh / 2, x1: -8, y1: cy + lh / 2 },
    }
  })
  const valueLabels: TextMark[] = bars.map((b, i) => {
    const text = amounts[i]!
    const cy = b.y + b.height / 2
    const x0 = b.width + 6
    return {
      key: b.key,
      x: x0,
      y: cy,
      lines: [text],
      anchor: 'start',
      angle: 0,
      dy: 0.32,
      box: { x0, y0: cy - lh / 2, x1: x0 + textWidth(text, FONT), y1: cy + lh / 2 },
    }
  })
  return {
    width: o.width,
    height,
    margin,
    bars,
    ticks: ticks.map((v) => ({ at: x(v), value: v, label: formatCount(v, loc) })),
    categoryLabels,
    valueLabels,
    labelMode: 'horizontal',
    thinEvery: 1,
  }
}

function layoutColumns(data: readonly ChartDatum[], o: BarOptions): BarLayout {
  const loc = { locale: o.locale }
  const lh = lineHeight(FONT)
  const n = Math.max(1, data.length)
  const height = o.height ?? Math.round(Math.min(440, Math.max(280, o.width * 0.4)))
  const max = Math.max(0, ...data.map((d) => d.users))
  // The value axis: its labels' width sets the left margin.
  const probe = countTicks(max, 6)
  const tickLabelW = Math.max(...probe.ticks.map((t) => textWidth(formatCount(t, loc), FONT)))
  const widest = Math.max(0, ...data.map((d) => textWidth(d.label, FONT)))
  const amounts = data.map((d) => formatCount(d.users, loc))
  const amountW = Math.max(0, ...amounts.map((a) => textWidth(a, FONT)))
  let left = Math.ceil(tickLabelW + 14)
  const right = 12
  let step = Math.max(1, (o.width - left - right) / n)
  // Category labels: horizontal if every one fits its column, else two wrapped lines, else
  // rotated 45° (when neighbours clear each other), else upright (90°) and thinned.
  let labelMode: LabelMode
  let wrapped: string[][] | null = null
  let thinEvery = 1
  if (widest <= step - 4) labelMode = 'horizontal'
  else {
    wrapped = data.map((d) => wrapText(d.label, step - 4, 2, FONT) ?? [])
    if (data.length > 0 && wrapped.every((w) => w.length > 0)) labelMode = 'wrap'
    else if (step >= lh * Math.SQRT2) labelMode = 'rotate45'
    else {
      labelMode = 'rotate90'
      thinEvery = Math.ceil(lh / step)
    }
  }
  const rotatedW = Math.min(MAX_ROTATED, widest)
  if (labelMode === 'rotate45') {
    // The first label runs down-left from its column: keep it inside the chart.
    left = Math.max(left, Math.ceil(rotatedW * Math.SQRT1_2 + lh - step / 2))
    step = Math.max(1, (o.width - left - right) / n)
  }
  const bottom =
    labelMode === 'horizontal'
      ? lh + 12
      : labelMode === 'wrap'
        ? 2 * lh + 12
        : labelMode === 'rotate45'
          ? Math.ceil(rotatedW * Math.SQRT1_2 + lh * Math.SQRT1_2 + 14)
          : Math.ceil(rotatedW + 16)
  // Value labels above the columns: across if they fit a column, upright if a line fits, else none.
  const valueMode: 'across' | 'upright' | 'none' =
    data.length === 0 ? 'none' : amountW <= step - 2 ? 'across' : lh <= step ? 'upright' : 'none'
  const top = valueMode === 'upright' ? Math.ceil(amountW + 10) : lh + 8
  const margin = { top, right, bottom, left }
  const inner = {
    w: Math.max(10, o.width - margin.left - margin.right),
    h: Math.max(10, height - margin.top - margin.bottom),
  }
  const x = scaleBand<string>()
    .domain(data.map((d) => d.key))
    .range([0, inner.w])
    .padding(0.2)
  const { ticks, top: yTop } = countTicks(max, Math.max(2, Math.floor(inner.h / 45)))
  const y = scaleLinear().domain([0, yTop]).range([inner.h, 0])
  const bars = data.map((d) => ({
    ...d,
    x: x(d.key) ?? 0,
    y: y(d.users),
    width: x.bandwidth(),
    height: inner.h - y(d.users),
    tip: tipOf(d, o.locale),
  }))
  const categoryLabels: TextMark[] = []
  bars.forEach((b, i) => {
    if (i % thinEvery !== 0) return
    const cx = b.x + b.width / 2
    const ty = inner.h + 8
    if (labelMode === 'horizontal' || labelMode === 'wrap') {
      const lines = labelMode === 'wrap' ? wrapped![i]! : [b.label]
      const w = Math.max(...lines.map((l) => textWidth(l, FONT)))
      categoryLabels.push({
        key: b.key,
        x: cx,
        y: ty,
        lines,
        anchor: 'middle',
        angle: 0,
        dy: 0.71,
        box: { x0: cx - w / 2, y0: ty, x1: cx + w / 2, y1: ty + lines.length * lh },
      })
      return
    }
    const text = fitText(b.label, MAX_ROTATED, FONT)
    const w = textWidth(text, FONT)
    if (labelMode === 'rotate45') {
      const d = w * Math.SQRT1_2
      const t = lh * Math.SQRT1_2
      categoryLabels.push({
        key: b.key,
        x: cx,
        y: ty,
        lines: [text],
        anchor: 'end',
        angle: -45,
        dy: 0.32,
        box: { x0: cx - d - t / 2, y0: ty - t / 2, x1: cx + t / 2, y1: ty + d + t / 2 },
      })
    } else
      categoryLabels.push({
        key: b.key,
        x: cx,
        y: ty,
        lines: [text],
        anchor: 'end',
        angle: -90,
        dy: 0.32,
        box: { x0: cx - lh / 2, y0: ty, x1: cx + lh / 2, y1: ty + w },
      })
  })
  const valueLabels: TextMark[] =
    valueMode === 'none'
      ? []
      : bars.map((b, i) => {
          const cx = b.x + b.width / 2
          const w = textWidth(amounts[i]!, FONT)
          return valueMode === 'across'
            ? {
                key: b.key,
                x: cx,
                y: b.y - 4,
                lines: [amounts[i]!],
                anchor: 'middle' as const,
                angle: 0,
                dy: 0,
                box: { x0: cx - w / 2, y0: b.y - 4 - lh, x1: cx + w / 2, y1: b.y - 4 },
              }
            : {
                key: b.key,
                x: cx,
                y: b.y - 4,
                lines: [amounts[i]!],
                anchor: 'start' as const,
                angle: -90,
                dy: 0.32,
                box: { x0: cx - lh / 2, y0: b.y - 4 - w, x1: cx + lh / 2, y1: b.y - 4 },
              }
        })
  return {
    width: o.width,
    height,
    margin,
    bars,
    ticks: ticks.map((v) => ({ at: y(v), value: v, label: formatCount(v, loc) })),
    categoryLabels,
    valueLabels,
    labelMode,
    thinEvery,
  }
}
