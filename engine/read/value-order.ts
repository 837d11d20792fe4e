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
 * The order of one history day's values: numeric when every value is a number or an interval of
 * numbers (a number label's buckets: `(-∞,3)` `[3,17)` `[17,210)` … `[1071,+∞)`, which code-point
 * order put as `(-∞,3)` `[1071,+∞)` `[17,210)` …), else code-point order.
 */
export function historyValueOrder(values: Iterable<string>): (a: string, b: string) => number {
  const keys = new Map<string, NonNullable<ReturnType<typeof keyInterval>>>()
  for (const v of values) {
    const k = keyInterval(v)
    if (!k) return compareCodePoints
    keys.set(v, k)
  }
  return (a, b) => {
    const ka = keys.get(a) as NonNullable<ReturnType<typeof keyInterval>>
    const kb = keys.get(b) as NonNullable<ReturnType<typeof keyInterval>>
    return ka.lo - kb.lo || ka.hi - kb.hi
  }
}

/** One day's `[value, users]` pairs sorted in place in historyValueOrder (where a day is made or loaded). */
export function sortDayItems(items: Array<[string, number]>): Array<[string, number]> {
  const order = historyValueOrder(items.map(([v]) => v))
  return items.sort((a, b) => order(a[0], b[0]))
}

/** History items of several days sorted in place: by date, then each day's values in historyValueOrder. */
export function inHistoryOrder<T extends { date: string; value: string }>(items: T[]): T[] {
  const values = new Map<string, string[]>()
  for (const i of items) {
    const list = values.get(i.date)
    if (list) list.push(i.value)
    else values.set(i.date, [i.value])
  }
  const orders = new Map([...values].map(([date, vs]) => [date, historyValueOrder(vs)]))
  return items.sort(
    (a, b) =>
      (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) ||
      (orders.get(a.date) as (x: string, y: string) => number)(a.value, b.value),
  )
}

/**
 * Ranks text groups by value (their `r`, 1-based), as a distribution's `sort=value` orders them:
 * in historyValueOrder, so a behaviour distribution label's intervals (`(-∞,5)` `[5,10)`
 * `[10,100)` `[100,+∞)`) come in their numeric order, as its history lists them, not in code-point
 * order (`[10,100)` before `[5,10)`). Returns the groups sorted by value.
 */
export function rankByValue<G extends { v: string; r: number }>(groups: G[]): G[] {
  const order = historyValueOrder(groups.map((g) => g.v))
  const byValue = [...groups].sort((a, b) => order(a.v, b.v))
  byValue.forEach((g, i) => {
    g.r = i + 1
  })
  return byValue
}
