import type { Distribution } from '../../api/types.ts'
import type { DataType } from '../../../shared/schemas/label.ts'

export type ChartType = 'bar' | 'column' | 'donut'
export type SortChoice = 'users-desc' | 'users-asc' | 'value-asc' | 'value-desc'

/** What the operator picked above the chart (docs/api.md#distribution). */
export interface DistributionOptions {
  chart: ChartType
  top: number
  sort: SortChoice
  /** Numbers: equal-width bins (0 = the server's default: exact values up to 50, else 10 bins). */
  bins: number
  /** Dates: bucket size. */
  granularity: 'day' | 'week' | 'month'
}

export const defaultOptions: DistributionOptions = {
  chart: 'bar',
  top: 10,
  sort: 'users-desc',
  bins: 0,
  granularity: 'day',
}

/** Top N clamped to 1–50 (the spec's bounds); junk becomes 10. */
export function clampTop(n: number): number {
  return Number.isFinite(n) ? Math.min(50, Math.max(1, Math.round(n))) : 10
}

/** The distribution query string for a label of `dataType` (only the knobs that apply to it). */
export function distributionQuery(o: DistributionOptions, dataType: DataType, format: 'json' | 'csv' = 'json'): string {
  const [sort, order] = o.sort.split('-') as ['users' | 'value', 'asc' | 'desc']
  const q = new URLSearchParams({ top: String(clampTop(o.top)), sort, order })
  if (dataType === 'number' && o.bins > 0) q.set('bins', String(Math.min(50, Math.round(o.bins))))
  if (dataType === 'date') q.set('granularity', o.granularity)
  if (format === 'csv') q.set('format', 'csv')
  return q.toString()
}

/**
 * The live channel's distribution (pushed when a run succeeds) is the server's default query:
 * every item up to 50, by users descending (ties by value), default bins, per day. When the
 * panel asks for that order and bucketing, its top N is the push's first N items, exactly what
 * the server would answer; otherwise null (the panel must ask with its own query).
 */
export function fromPush(push: Distribution, o: DistributionOptions, dataType: DataType): Distribution | null {
  if (o.sort !== 'users-desc') return null
  if (dataType === 'number' && o.bins > 0) return null
  if (dataType === 'date' && o.granularity !== 'day') return null
  return { ...push, items: push.items.slice(0, clampTop(o.top)) }
}
