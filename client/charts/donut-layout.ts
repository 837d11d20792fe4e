import { arc, pie, type PieArcDatum } from 'd3'
import { formatCount, formatPercent } from '../ui/format.ts'
import type { ChartDatum } from './chart-data.ts'
import { colorAt, OTHER_COLOR } from './scales.ts'
import { fitText } from './text.ts'

export interface DonutSlice extends ChartDatum {
  path: string
  color: string
  startAngle: number
  endAngle: number
  /** Where the slice's percentage label goes (centroid of the ring), or null when it does not fit. */
  labelAt: [number, number] | null
  /** For "Other": how many values it groups. */
  grouped?: number
  tip: string
}

export interface LegendRow {
  key: string
  color: string
  text: string
  x: number
  y: number
}

export interface DonutLayout {
  width: number
  height: number
  /** Centre of the ring. */
  cx: number
  cy: number
  radius: number
  inner: number
  slices: DonutSlice[]
  legend: LegendRow[]
  coveredUsers: number
}

/** At most this many slices; beyond, the smallest values are one grey "Other" slice. */
export const MAX_SLICES = 10
const LEGEND_ROW = 20
const LEGEND_MIN = 200

/**
 * Groups a distribution for a donut: every value when there are at most MAX_SLICES, else the
 * MAX_SLICES − 1 largest (kept in the given order) and "Other" (the rest, summed) last.
 */
export function groupTail(data: readonly ChartDatum[]): Array<ChartDatum & { grouped?: number }> {
  if (data.length <= MAX_SLICES) return [...data]
  const keep = new Set(
    [...data]
      .map((d, i) => ({ d, i }))
      .sort((a, b) => b.d.users - a.d.users || a.i - b.i)
      .slice(0, MAX_SLICES - 1)
      .map((x) => x.i),
  )
  const rest = data.filter((_, i) => !keep.has(i))
  return [
    ...data.filter((_, i) => keep.has(i)),
    {
      key: '\u0000other',
      label: `Other (${rest.length} values)`,
      users: rest.reduce((n, d) => n + d.users, 0),
      proportion: rest.reduce((n, d) => n + d.proportion, 0),
      grouped: rest.length,
    },
  ]
}

/**
 * Pure geometry of a donut with its legend: angles proportional to users, in the given order,
 * the tail grouped as "Other"; the legend to the right when there is room, else below.
 */
export function layoutDonut(
  data: readonly ChartDatum[],
  o: { width: number; height?: number; size?: number; locale?: string },
): DonutLayout {
  const loc = { locale: o.locale }
  const shown = groupTail(data)
  const side = o.width >= 2 * LEGEND_MIN + 40
  const size = Math.round(
    o.size ?? (side ? Math.min(o.height ?? 320, o.width - LEGEND_MIN - 40, 360) : Math.min(o.width - 16, 300)),
  )
  const radius = size / 2 - 4
  const inner = radius * 0.58
  const arcs = pie<ChartDatum>()
    .value((d) => d.users)
    .sort(null)([...shown])
  const shape = arc<PieArcDatum<ChartDatum>>()
    .innerRadius(inner)
    .outerRadius(radius)
    .padAngle(shown.length > 1 ? 0.01 : 0)
  const ring = radius - inner
  const slices: DonutSlice[] = arcs.map((a, i) => {
    const d = shown[i]!
    const span = a.endAngle - a.startAngle
    // A percentage fits when the arc at mid-ring is longer than the text.
    const fits = span * ((radius + inner) / 2) > 40 && ring > 16
    return {
      ...d,
      path: shape(a) ?? '',
      color: d.grouped ? OTHER_COLOR : colorAt(i),
      startAngle: a.startAngle,
      endAngle: a.endAngle,
      labelAt: fits ? (shape.centroid(a) as [number, number]) : null,
      tip: `${d.label}: ${formatCount(d.users, loc)} users (${formatPercent(d.proportion, loc)})`,
    }
  })
  const legendW = side ? o.width - size - 32 : o.width - 16
  const legendH = slices.length * LEGEND_ROW
  const height = side ? Math.max(size, legendH) + 8 : size + 16 + legendH
  const cx = side ? size / 2 + 4 : o.width / 2
  const cy = side ? height / 2 : size / 2 + 4
  const lx = side ? size + 28 : 8
  const ly = side ? (height - legendH) / 2 : size + 16
  const legend = slices.map((s, i) => ({
    key: s.key,
    color: s.color,
    text: fitText(`${s.label} — ${formatPercent(s.proportion, loc)}`, legendW - 20, 12),
    x: lx,
    y: ly + i * LEGEND_ROW,
  }))
  return {
    width: o.width,
    height,
    cx,
    cy,
    radius,
    inner,
    slices,
    legend,
    coveredUsers: data.reduce((n, d) => n + d.users, 0),
  }
}
