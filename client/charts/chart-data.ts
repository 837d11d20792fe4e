import type { DistributionItem } from '../../engine/api.ts'
import { formatCount, formatPercent } from '../ui/format.ts'

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

/**
 * Distribution items → chart data, in the order given (the server already sorted and cut to top
 * N). The key is the value itself (a repeated value gets "#2", "#3"), so a value keeps its key,
 * and its bar animates from where it was, when the data changes.
 */
export function toChartData(items: readonly DistributionItem[]): ChartDatum[] {
  const seen = new Map<string, number>()
  return items.map((i) => {
    const base = String(i.value)
    const n = (seen.get(base) ?? 0) + 1
    seen.set(base, n)
    return {
      key: n === 1 ? base : `${base}#${n}`,
      label: valueLabel(i.value),
      users: i.users,
      proportion: i.proportion,
    }
  })
}

/** A share with one decimal in the browser's locale ("12.3%", "<0.1%"): client/ui/format.ts. */
export const percent = (p: number): string => formatPercent(p)

/** A count in the browser's locale ("20,000"): client/ui/format.ts. */
export const count = (n: number): string => formatCount(n)

export { colorAt } from './scales.ts'
