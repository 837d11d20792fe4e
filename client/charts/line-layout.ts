import { line, scaleLinear, scaleUtc } from 'd3'
import { colorAt } from './chart-data.ts'

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
  points: Array<{ date: string; x: number; y: number; users: number }>
}

export interface LineLayout {
  width: number
  height: number
  margin: { top: number; right: number; bottom: number; left: number }
  series: LineSeries[]
  xTicks: Array<{ at: number; label: string }>
  yTicks: Array<{ at: number; value: number }>
}

const day = (s: string) => new Date(`${s}T00:00:00Z`)

/**
 * Pure geometry of the history chart: one line per value over the days (x = date, y = users or
 * proportion), series ordered by their latest users (largest first) so colours are stable.
 */
export function layoutLines(
  items: readonly HistoryPoint[],
  o: { width: number; height: number; measure?: 'users' | 'proportion' },
): LineLayout {
  const measure = o.measure ?? 'users'
  const margin = { top: 12, right: 16, bottom: 28, left: 56 }
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
  const max = Math.max(measure === 'users' ? 1 : 0.01, ...items.map((i) => i[measure]))
  const y = scaleLinear().domain([0, max]).nice().range([h, 0])
  const byValue = new Map<string, HistoryPoint[]>()
  for (const i of items) {
    const list = byValue.get(i.value)
    if (list) list.push(i)
    else byValue.set(i.value, [i])
  }
  const latest = (list: HistoryPoint[]) => list.reduce((a, b) => (b.date > a.date ? b : a))[measure]
  const ordered = [...byValue.entries()].sort((a, b) => latest(b[1]) - latest(a[1]) || (a[0] < b[0] ? -1 : 1))
  const path = line<{ x: number; y: number }>()
    .x((p) => p.x)
    .y((p) => p.y)
  return {
    width: o.width,
    height: o.height,
    margin,
    series: ordered.map(([value, list], i) => {
      const points = [...list]
        .sort((a, b) => (a.date < b.date ? -1 : 1))
        .map((p) => ({ date: p.date, x: x(day(p.date)), y: y(p[measure]), users: p.users }))
      return { value, color: colorAt(i), path: path(points) ?? '', points }
    }),
    xTicks: x
      .ticks(Math.min(8, Math.max(2, dates.length)))
      .map((d) => ({ at: x(d), label: d.toISOString().slice(5, 10) })),
    yTicks: y.ticks(5).map((v) => ({ at: y(v), value: v })),
  }
}
