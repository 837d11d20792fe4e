import { keyInterval } from '../calc/history-keys.ts'

/** Code-point order of strings, as `COLLATE "C"` compares UTF-8 text (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // Surrogates (D800–DFFF) encode code points above FFFF: move them past E000–FFFF.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000
    return x - y
  }
  return a.length - b.length
}

/**
 * History items in their order (from the database or from memory: read-model.ts historyFromDays):
 * by date, then by value, numerically when every value is a number or an interval of numbers (a
 * number label's buckets: `(-∞,3)` `[3,17)` `[17,210)` … `[1071,+∞)`, which code-point order put
 * as `(-∞,3)` `[1071,+∞)` `[17,210)` …), else in code-point order. Sorts `items` in place.
 */
export function inHistoryOrder<T extends { date: string; value: string }>(items: T[]): T[] {
  const keys = new Map(items.map((i) => [i.value, keyInterval(i.value)]))
  const numeric = [...keys.values()].every((k) => k !== null)
  const byDate = (a: T, b: T) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0)
  const byText = (a: T, b: T) => compareCodePoints(a.value, b.value)
  const byNumber = (a: T, b: T) => {
    const ka = keys.get(a.value) as NonNullable<ReturnType<typeof keyInterval>>
    const kb = keys.get(b.value) as NonNullable<ReturnType<typeof keyInterval>>
    return ka.lo - kb.lo || ka.hi - kb.hi
  }
  return items.sort((a, b) => byDate(a, b) || (numeric ? byNumber(a, b) : byText(a, b)))
}
