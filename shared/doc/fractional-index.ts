/**
 * Fractional indexing: order keys are strings over a base-62 alphabet compared with plain `<`
 * (the alphabet is in ASCII order), read as the digits after a radix point. Between any two
 * distinct valid keys there is always another, so moving an item writes only that item's key.
 * Two replicas can mint the same key concurrently; readers break ties by id (`compareOrder`).
 */
const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const VALID = /^[0-9A-Za-z]*[1-9A-Za-z]$/

/** A valid key is non-empty, base-62 and has no trailing '0' (so nothing sorts between k and k+'0'). */
export function isOrderKey(k: unknown): k is string {
  return typeof k === 'string' && k.length <= 256 && VALID.test(k)
}

/** A key strictly between a and b (null = open end); throws unless a < b and both are valid. */
export function keyBetween(a: string | null, b: string | null): string {
  if (a !== null && !isOrderKey(a)) throw new Error(`invalid order key ${JSON.stringify(a)}`)
  if (b !== null && !isOrderKey(b)) throw new Error(`invalid order key ${JSON.stringify(b)}`)
  if (a !== null && b !== null && a >= b) throw new Error(`order keys out of order: ${a} >= ${b}`)
  if (a !== null && b === null) return increment(a)
  return midpoint(a ?? '', b)
}

/** Appending is the common case: bump the first digit that can be bumped, so keys grow slowly. */
function increment(a: string): string {
  for (let i = 0; i < a.length; i++) {
    const d = digit(a, i)
    if (d < DIGITS.length - 1) return a.slice(0, i) + DIGITS.charAt(d + 1)
  }
  return a + DIGITS.charAt(DIGITS.length / 2)
}

function digit(s: string, i: number): number {
  return DIGITS.indexOf(s.charAt(i))
}

function midpoint(a: string, b: string | null): string {
  if (b !== null) {
    let n = 0
    while ((a.charAt(n) || '0') === b.charAt(n)) n++
    if (n > 0) return b.slice(0, n) + midpoint(a.slice(n), b.slice(n))
  }
  const da = a ? digit(a, 0) : 0
  const db = b !== null ? digit(b, 0) : DIGITS.length
  if (db - da > 1) return DIGITS.charAt(Math.round((da + db) / 2))
  if (b !== null && b.length > 1) return b.slice(0, 1)
  return DIGITS.charAt(da) + midpoint(a.slice(1), null)
}

/** n keys strictly between a and b, ascending, spread by bisection so none grows needlessly long. */
export function keysBetween(a: string | null, b: string | null, n: number): string[] {
  if (n <= 0) return []
  const mid = keyBetween(a, b)
  const left = Math.floor((n - 1) / 2)
  return [...keysBetween(a, mid, left), mid, ...keysBetween(mid, b, n - 1 - left)]
}

/** Total order used by every reader: order key, then id (the deterministic tie-break). */
export function compareOrder(a: { order: string; id: string }, b: { order: string; id: string }): number {
  if (a.order !== b.order) return a.order < b.order ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * Keys to place `count` new items at `index` in an ordered sibling list. When the neighbours
 * can't be split (equal keys from a concurrent insert, or a malformed key from a raw write) the
 * whole list is re-keyed: `rekey` maps existing sibling ids to their new keys.
 */
export function placeAt(
  siblings: ReadonlyArray<{ id: string; order: string }>,
  index: number,
  count = 1,
): { keys: string[]; rekey: Map<string, string> } {
  const i = Math.max(0, Math.min(index, siblings.length))
  const prev = siblings[i - 1]?.order ?? null
  const next = siblings[i]?.order ?? null
  const splittable =
    (prev === null || isOrderKey(prev)) &&
    (next === null || isOrderKey(next)) &&
    (prev === null || next === null || prev < next)
  if (splittable) return { keys: keysBetween(prev, next, count), rekey: new Map() }
  const all = keysBetween(null, null, siblings.length + count)
  const rekey = new Map<string, string>()
  siblings.forEach((s, j) => rekey.set(s.id, all[j < i ? j : j + count] as string))
  return { keys: all.slice(i, i + count), rekey }
}
