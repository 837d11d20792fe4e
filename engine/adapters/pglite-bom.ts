import { protocol } from '@electric-sql/pglite'

/**
 * PGlite (0.5) decodes every text value of a result with one `new TextDecoder('utf-8')`
 * per protocol reader, whose default (`ignoreBOM: false`) drops a leading U+FEFF from each
 * value it decodes: `SELECT E'\uFEFFx'` came back as 'x' while the database held two
 * characters (arrays kept it: they are decoded as one string). Two distinct stored values
 * then met as one in JS (a first_last history snapshot failed on history_pkey), and values
 * no longer round-tripped as on PostgreSQL. The reader is private and a new one is built after
 * every query error, so this patches the reader class itself: its `string(n)` decodes with a
 * BOM-keeping decoder. The class is reached by watching which object receives a TextDecoder
 * in its private fields (a WeakMap set) while a protocol Parser is built.
 * Returns false when the shape is not found (a PGlite upgrade): tests/engine/adapters/bom.test.ts fails then.
 */
export function keepLeadingBomInPglite(): boolean {
  if (patched) return true
  const set = WeakMap.prototype.set
  let reader: object | null = null
  WeakMap.prototype.set = function (this: WeakMap<WeakKey, unknown>, key: WeakKey, value: unknown) {
    if (reader === null && value instanceof TextDecoder) reader = key as object
    return set.call(this, key, value)
  }
  try {
    new protocol.Parser()
  } finally {
    WeakMap.prototype.set = set
  }
  const proto = reader ? (Object.getPrototypeOf(reader) as Record<string, unknown>) : null
  if (!proto || typeof proto.string !== 'function' || typeof proto.bytes !== 'function') return false
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true })
  proto.string = function (this: { bytes(n: number): Uint8Array }, n: number): string {
    return decoder.decode(this.bytes(n))
  }
  patched = true
  return true
}

let patched = false
