import type { DataType } from './schemas/label.ts'
import type { HistoryResult } from './schemas/wire.ts'
import { isPlainNumber } from './formats.ts'

/**
 * A history item's value as the API answers it: typed as the distribution's (docs/api.md#history:
 * both have the same `value`): a boolean label's `true`/`false`, a number label's exact value as a number;
 * an interval (`[0,10)`), a string, a collection element or a date bucket (`YYYY-MM-DD`) as text.
 * History is stored and filtered (`?value=`) by its text.
 */
export function historyValueOut(dataType: DataType, text: string): string | number | boolean {
  if (dataType === 'boolean') return text === 'true' ? true : text === 'false' ? false : text
  if (dataType === 'number' && isPlainNumber(text)) {
    const n = Number(text)
    if (Number.isFinite(n)) return n
  }
  return text
}

/** The history with its values typed for the label's data type (historyValueOut). */
export function typedHistory<H extends HistoryResult>(h: H, dataType: DataType): H {
  return { ...h, items: h.items.map((i) => ({ ...i, value: historyValueOut(dataType, String(i.value)) })) }
}

/** A history whose values are all text. */
export interface TextHistory {
  labelId: string
  items: Array<{ date: string; value: string; users: number; proportion: number }>
}

/** The history with every value as its text, as the web app keys its lines and filters. */
export function historyAsText(h: HistoryResult): TextHistory {
  return { labelId: h.labelId, items: h.items.map((i) => ({ ...i, value: String(i.value) })) }
}
