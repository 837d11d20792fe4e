import type { DistributionItem } from '../../engine/api.ts'

/** One thing to draw: a distribution item reduced to its label and counts. */
export interface ChartDatum {
  key: string
  label: string
  users: number
  proportion: number
}

/** How a value is written on a chart (interval values are already labels like "[0,10)"). */
export function valueLabel(v: DistributionItem['value']): string {
  if (v === null) return '(none)'
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000)
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T00:00:00(\.000)?(Z|[+-]00:00)?$/.test(v)) return v.slice(0, 10)
  return String(v)
}

/** Distribution items → chart data, in the order given (the server already sorted and cut to top N). */
export function toChartData(items: readonly DistributionItem[]): ChartDatum[] {
  return items.map((i, n) => ({
    key: `${n}:${String(i.value)}`,
    label: valueLabel(i.value),
    users: i.users,
    proportion: i.proportion,
  }))
}

/** "12.3%" with one decimal (or "<0.1%" for tiny non-zero shares). */
export function percent(p: number): string {
  if (p > 0 && p < 0.001) return '<0.1%'
  return `${(p * 100).toFixed(1)}%`
}

/** Thousands separators, no decimals for counts. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/** Shortens a label to fit roughly `max` characters. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(1, max - 1))}…`
}

/** Categorical palette (colour-blind friendly, Tableau 10). */
export const palette = [
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

/** Colour of the i-th series or slice. */
export const colorAt = (i: number): string => palette[i % palette.length] ?? '#4e79a7'
