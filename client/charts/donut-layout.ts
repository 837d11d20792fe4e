import { arc, pie, type PieArcDatum } from 'd3'
import { colorAt, type ChartDatum } from './chart-data.ts'

export interface DonutSlice extends ChartDatum {
  path: string
  color: string
  startAngle: number
  endAngle: number
  /** Where the slice's percentage label goes (centroid of the ring). */
  labelAt: [number, number]
}

export interface DonutLayout {
  size: number
  radius: number
  inner: number
  slices: DonutSlice[]
  coveredUsers: number
}

/** Pure geometry of a donut: one slice per item, angles proportional to users, in the given order. */
export function layoutDonut(data: readonly ChartDatum[], o: { size: number }): DonutLayout {
  const radius = o.size / 2 - 4
  const inner = radius * 0.58
  const arcs = pie<ChartDatum>()
    .value((d) => d.users)
    .sort(null)([...data])
  const shape = arc<PieArcDatum<ChartDatum>>()
    .innerRadius(inner)
    .outerRadius(radius)
    .padAngle(data.length > 1 ? 0.01 : 0)
  return {
    size: o.size,
    radius,
    inner,
    coveredUsers: data.reduce((n, d) => n + d.users, 0),
    slices: arcs.map((a, i) => ({
      ...a.data,
      path: shape(a) ?? '',
      color: colorAt(i),
      startAngle: a.startAngle,
      endAngle: a.endAngle,
      labelAt: shape.centroid(a),
    })),
  }
}
