import { line, scaleLinear, scaleUtc, utcDay } from 'd3'
import { formatCount, formatDate, formatDayShort, formatPercent } from '../ui/format.ts'
import { colorAt, countTicks, shareTicks } from './scales.ts'
import { fitText, textWidth } from './text.ts'

export interface HistoryPoint {
  date: string
  value: string
  users: number
  proportion: number
}

export interface LineSeries {
  value: string
  color: string
  path: string
  points: Array<{ date: string; x: number; y: number; users: number; proportion: number }>
}

export interface LegendItem {
  value: string
  color: string
  text: string
  x: number
  y: number
}

/** One day's column: where the pointer or the keyboard shows that day's values. */
export interface DayColumn {
  date: string
  x: number
  x0: number
  x1: number
  tip: string
}

export interface LineLayout {
  width: number
  height: number
  margin: { top: number; right: number; bottom: number; left: number }
  series: LineSeries[]
  /** Legend items above the plot (svg coordinates), wrapped into rows by their measured width. */
  legend: LegendItem[]
  days: DayColumn[]
  xTicks: Array<{ at: number; label: string }>
  yTicks: Array<{ at: number; value: number; label: string }>
}

const day = (s: string) => new Date(`${s}T00:00:00Z`)
const FONT = 12
const LEGEND_ROW = 18
const SWATCH = 16

/**
 * Pure geometry of the history chart: one line per value over the days (x = date, y = users or
 * share), series ordered by their latest users (largest first) so colours are stable, a legend
 * wrapped above the plot, whole-number (or 0.1%-step share) ticks, and date ticks on whole days
 * spaced by their measured width.
 */
export function layoutLines(
  items: readonly HistoryPoint[],
  o: { width: number; height: number; measure?: 'users' | 'proportion'; locale?: string },
): LineLayout {
  const loc = { locale: o.locale }
  const measure = o.measure ?? 'users'
  const byValue = new Map<string, HistoryPoint[]>()
  for (const i of items) {
    const list = byValue.get(i.value)
    if (list) list.push(i)
    else byValue.set(i.value, [i])
  }
  const latest = (list: HistoryPoint[]) => list.reduce((a, b) => (b.date > a.date ? b : a)).users
  const ordered = [...byValue.entries()].sort((a, b) => latest(b[1]) - latest(a[1]) || (a[0] < b[0] ? -1 : 1))
  // Legend: rows of swatch + value, wrapped to the width.
  const legend: LegendItem[] = []
  let lx = 0
  let row = 0
  const maxItem = Math.max(60, o.width - 16)
  ordered.forEach(([value], i) => {
    const text = fitText(value, maxItem - SWATCH - 12, FONT)
    const w = SWATCH + textWidth(text, FONT) + 16
    if (lx > 0 && lx + w > o.width - 8) {
      lx = 0
      row++
    }
    legend.push({ value, color: colorAt(i), text, x: 8 + lx, y: 6 + row * LEGEND_ROW })
    lx += w
  })
  const legendH = ordered.length ? (row + 1) * LEGEND_ROW + 6 : 0
  const max = Math.max(0, ...items.map((i) => i[measure]))
  const yt = measure === 'users' ? countTicks(max, 5) : shareTicks(max, 5)
  const label = (v: number) => (measure === 'users' ? formatCount(v, loc) : formatPercent(v, loc))
  const left = Math.ceil(Math.max(...yt.ticks.map((t) => textWidth(label(t), FONT))) + 14)
  const margin = { top: legendH + 12, right: 20, bottom: 28, left }
  const w = Math.max(10, o.width - margin.left - margin.right)
  const h = Math.max(10, o.height - margin.top - margin.bottom)
  const dates = [...new Set(items.map((i) => i.date))].sort()
  const first = dates[0] ?? '1970-01-01'
  const last = dates[dates.length - 1] ?? first
  // A single day sits in the middle (one day either side) rather than on the left edge.
  const x = scaleUtc()
    .domain(
      first === last
        ? [new Date(day(first).getTime() - 86_400_000), new Date(day(first).getTime() + 86_400_000)]
        : [day(first), day(last)],
    )
    .range([0, w])
  const y = scaleLinear().domain([0, yt.top]).range([h, 0])
  const path = line<{ x: number; y: number }>()
    .x((p) => p.x)
    .y((p) => p.y)
  const series = ordered.map(([value, list], i) => {
    const points = [...list]
      .sort((a, b) => (a.date < b.date ? -1 : 1))
      .map((p) => ({ date: p.date, x: x(day(p.date)), y: y(p[measure]), users: p.users, proportion: p.proportion }))
    return { value, color: colorAt(i), path: path(points) ?? '', points }
  })
  // Date ticks: whole days, every k-th so their labels (measured) keep 16 px apart.
  const labelW = textWidth(formatDayShort('2024-12-30', loc), FONT) + 16
  const span = Math.max(1, Math.round((x.domain()[1]!.getTime() - x.domain()[0]!.getTime()) / 86_400_000))
  const fit = Math.max(1, Math.floor(w / labelW))
  const every = [1, 2, 7, 14, 30, 60, 90, 180, 365].find((k) => span / k + 1 <= fit) ?? Math.ceil(span / fit)
  const tickDays =
    first === last
      ? [day(first)]
      : utcDay.range(day(first), new Date(day(last).getTime() + 1), 1).filter((_, i) => i % every === 0)
  const xTicks = tickDays.map((d) => ({ at: x(d), label: formatDayShort(d.toISOString().slice(0, 10), loc) }))
  // One column per day for hover and keyboard: that day's values, largest first.
  const xs = dates.map((d) => x(day(d)))
  const days = dates.map((d, i) => {
    const rows = series
      .map((s) => ({ s, p: s.points.find((p) => p.date === d) }))
      .filter((r) => r.p)
      .sort((a, b) => b.p!.users - a.p!.users)
      .map((r) => `${r.s.value}: ${formatCount(r.p!.users, loc)} (${formatPercent(r.p!.proportion, loc)})`)
    return {
      date: d,
      x: xs[i]!,
      x0: i === 0 ? Math.min(0, xs[i]! - 20) : (xs[i - 1]! + xs[i]!) / 2,
      x1: i === dates.length - 1 ? Math.max(w, xs[i]! + 20) : (xs[i]! + xs[i + 1]!) / 2,
      tip: [formatDate(d, loc), ...rows].join('\n'),
    }
  })
  return {
    width: o.width,
    height: o.height,
    margin,
    series,
    legend,
    days,
    xTicks,
    yTicks: yt.ticks.map((v) => ({ at: y(v), value: v, label: label(v) })),
  }
}
