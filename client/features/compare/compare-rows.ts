import { formatCount } from '../../ui/format.ts'
import type { Comparison, DistributionItem, TransitionValue } from '../../../engine/api.ts'

/** A value of a distribution or transition as an operator reads it; null is "no value". */
export function valueLabel(v: TransitionValue | DistributionItem['value'] | undefined): string {
  if (v === null || v === undefined) return 'no value'
  if (Array.isArray(v)) return v.length ? v.join(', ') : '(empty)'
  return String(v)
}

/** One line of the side-by-side table: a value's users before and after. */
export interface SideBySideRow {
  value: string
  current: number
  draft: number
  delta: number
}

/**
 * The current and the draft distributions on one list of values: every value present on
 * either side, in the draft's order then the current's, with 0 where a side lacks it.
 */
export function sideBySide(c: Pick<Comparison, 'current' | 'draft'>): SideBySideRow[] {
  const rows = new Map<string, SideBySideRow>()
  const row = (v: string) =>
    rows.get(v) ?? (rows.set(v, { value: v, current: 0, draft: 0, delta: 0 }).get(v) as SideBySideRow)
  for (const i of c.draft.items) row(valueLabel(i.value)).draft += i.users
  for (const i of c.current.items) row(valueLabel(i.value)).current += i.users
  for (const r of rows.values()) r.delta = r.draft - r.current
  return [...rows.values()]
}

/** "+12", "−3", "0". */
export const signed = (n: number): string => (n > 0 ? `+${formatCount(n)}` : n < 0 ? `−${formatCount(-n)}` : '0')
