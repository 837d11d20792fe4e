import { scaleBand, scaleLinear } from 'd3'
import type { ChartDatum } from './chart-data.ts'

export type BarOrientation = 'bar' | 'column'

export interface BarOptions {
  orientation: BarOrientation
  width: number
  /** For 'bar' the height grows with the number of items unless given. */
  height?: number
}

export interface BarGeom extends ChartDatum {
  x: number
  y: number
  width: number
  height: number
}

export interface BarLayout {
  width: number
  height: number
  margin: { top: number; right: number; bottom: number; left: number }
  bars: BarGeom[]
  /** Value-axis ticks: position along the value axis (px from the plot origin) and the count. */
  ticks: Array<{ at: number; value: number }>
}

const ROW = 26

/**
 * Pure geometry of a bar chart (horizontal bars, one row per value) or a column chart
 * (vertical columns). Lengths are proportional to users; the largest bar fills the plot.
 */
export function layoutBars(data: readonly ChartDatum[], o: BarOptions): BarLayout {
  const max = Math.max(1, ...data.map((d) => d.users))
  if (o.orientation === 'bar') {
    const longest = Math.max(0, ...data.map((d) => d.label.length))
    const margin = { top: 8, right: 96, bottom: 24, left: Math.min(200, 12 + longest * 7) }
    const height = o.height ?? margin.top + margin.bottom + Math.max(1, data.length) * ROW
    const inner = { w: Math.max(10, o.width - margin.left - margin.right), h: height - margin.top - margin.bottom }
    const y = scaleBand<string>()
      .domain(data.map((d) => d.key))
      .range([0, inner.h])
      .padding(0.2)
    const x = scaleLinear().domain([0, max]).nice().range([0, inner.w])
    return {
      width: o.width,
      height,
      margin,
      bars: data.map((d) => ({ ...d, x: 0, y: y(d.key) ?? 0, width: x(d.users), height: y.bandwidth() })),
      ticks: countTicks(x.ticks(5)).map((v) => ({ at: x(v), value: v })),
    }
  }
  const margin = { top: 24, right: 12, bottom: 64, left: 56 }
  const height = o.height ?? 320
  const inner = {
    w: Math.max(10, o.width - margin.left - margin.right),
    h: Math.max(10, height - margin.top - margin.bottom),
  }
  const x = scaleBand<string>()
    .domain(data.map((d) => d.key))
    .range([0, inner.w])
    .padding(0.2)
  const y = scaleLinear().domain([0, max]).nice().range([inner.h, 0])
  return {
    width: o.width,
    height,
    margin,
    bars: data.map((d) => ({
      ...d,
      x: x(d.key) ?? 0,
      y: y(d.users),
      width: x.bandwidth(),
      height: inner.h - y(d.users),
    })),
    ticks: countTicks(y.ticks(5)).map((v) => ({ at: y(v), value: v })),
  }
}

/** Bars count users: only whole numbers are ticks (a largest bar of 1 gave "0 0 0 1 1 1"). */
function countTicks(ticks: number[]): number[] {
  return ticks.filter(Number.isInteger)
}
