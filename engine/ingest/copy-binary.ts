import type { ValueType } from '../storage/catalogue.ts'
import type { Stored } from './values.ts'

/** A column of a binary COPY: how its JS values are encoded. */
export type CopyType = 'int4' | 'text' | 'timestamptz' | 'seq' | ValueType

const pgEpochMs = Date.UTC(2000, 0, 1)
// Times the binary path takes; others (year 0, signed 6-digit years) go the text path, whose
// verdict (PostgreSQL has no year 0, and may refuse the extended form) stays the reference.
const year1Ms = Date.parse('0001-01-01T00:00:00.000Z')
const year10000Ms = Date.parse('+010000-01-01T00:00:00.000Z')
const two32 = 2 ** 32
const signature = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00] // PGCOPY\n\377\r\n\0

const d2 = (s: string, i: number) => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48

/**
 * Epoch ms of a stored time. Stored times are canonical `YYYY-MM-DDTHH:MM:SS.sssZ` (validated
 * or written by toISOString); those are computed with integer arithmetic (days from civil, H.
 * Hinnant), ~5× faster than Date.parse on millions of rows; anything else goes to Date.parse.
 */
export function isoMs(s: string): number {
  if (
    s.length !== 24 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(10) !== 84 ||
    s.charCodeAt(19) !== 46 ||
    s.charCodeAt(23) !== 90
  )
    return Date.parse(s)
  const m = d2(s, 5),
    d = d2(s, 8)
  const y = d2(s, 0) * 100 + d2(s, 2) - (m <= 2 ? 1 : 0)
  const era = Math.floor(y / 400),
    yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const days = era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468
  return (
    days * 86_400_000 +
    d2(s, 11) * 3_600_000 +
    d2(s, 14) * 60_000 +
    d2(s, 17) * 1000 +
    (s.charCodeAt(20) - 48) * 100 +
    d2(s, 21)
  )
}

/**
 * Builds a PostgreSQL binary COPY file (header, tuples, trailer) from column arrays. The
 * server then only copies bytes into tuples: no text parsing of numbers, timestamps or array
 * literals, which made `INSERT … SELECT FROM unnest(…)` several times slower on PGlite.
 */
export class BinaryCopyWriter {
  private buf = new Uint8Array(1 << 20)
  private view = new DataView(this.buf.buffer)
  private at = 0
  private readonly encoder = new TextEncoder()
  /** High 32 bits of every `seq` field (the request's ticket); the cell gives the low 32 bits. */
  seqHigh = 0

  /**
   * Encodes `rows` rows of the given columns (`null` / `undefined` cells are SQL NULL), or
   * returns null when a value is one the text path would refuse (see `value`): the caller then
   * takes that path, so both engines accept and reject exactly the same data.
   */
  encode(
    types: readonly CopyType[],
    cols: ReadonlyArray<ReadonlyArray<Stored | null | undefined>>,
    rows: number,
  ): Uint8Array | null {
    this.at = 0
    this.room(19)
    this.buf.set(signature, 0)
    this.view.setInt32(11, 0) // flags
    this.view.setInt32(15, 0) // header extension length
    this.at = 19
    const n = types.length
    for (let r = 0; r < rows; r++) {
      this.room(2)
      this.view.setInt16(this.at, n)
      this.at += 2
      for (let c = 0; c < n; c++)
        if (!this.value(types[c] as CopyType, (cols[c] as ReadonlyArray<Stored | null | undefined>)[r])) return null
    }
    this.room(2)
    this.view.setInt16(this.at, -1)
    this.at += 2
    return this.buf.subarray(0, this.at)
  }

  /** Appends one field; false for text with NUL (PostgreSQL's text input refuses it) or a time outside years 1–9999. */
  private value(type: CopyType, v: Stored | null | undefined): boolean {
    this.room(12)
    const view = this.view
    if (v === null || v === undefined) {
      view.setInt32(this.at, -1)
      this.at += 4
      return true
    }
    switch (type) {
      case 'int4':
        view.setInt32(this.at, 4)
        view.setInt32(this.at + 4, v as number)
        this.at += 8
        return true
      case 'seq': // int8 = seqHigh << 32 | row, written as two words: exact beyond 2^53
        view.setInt32(this.at, 8)
        view.setInt32(this.at + 4, this.seqHigh)
        view.setUint32(this.at + 8, v as number)
        this.at += 12
        return true
      case 'number':
        view.setInt32(this.at, 8)
        view.setFloat64(this.at + 4, v as number)
        this.at += 12
        return true
      case 'boolean':
        view.setInt32(this.at, 1)
        this.buf[this.at + 4] = v ? 1 : 0
        this.at += 5
        return true
      case 'timestamptz':
      case 'date': {
        const ms = isoMs(v as string)
        if (!(ms >= year1Ms && ms < year10000Ms)) return false
        this.int8(view, (ms - pgEpochMs) * 1000)
        return true
      }
      default:
        if ((v as string).indexOf('\u0000') >= 0) return false
        this.text(v as string)
        return true
    }
  }

  /** An int8 from a double holding an exact integer (microseconds fit well within 2^53). */
  private int8(view: DataView, x: number): void {
    const hi = Math.floor(x / two32)
    view.setInt32(this.at, 8)
    view.setInt32(this.at + 4, hi)
    view.setUint32(this.at + 8, x - hi * two32)
    this.at += 12
  }

  private text(s: string): void {
    const len = s.length
    this.room(4 + len * 3) // UTF-8 takes at most 3 bytes per UTF-16 unit
    const buf = this.buf,
      start = this.at + 4
    // Short ASCII strings (ids, categories) are copied by hand: cheaper than a native call each.
    if (len <= 64) {
      let i = 0
      for (; i < len; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) break
        buf[start + i] = c
      }
      if (i === len) {
        this.view.setInt32(this.at, len)
        this.at = start + len
        return
      }
    }
    const { written } = this.encoder.encodeInto(s, buf.subarray(start))
    this.view.setInt32(this.at, written)
    this.at = start + written
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.at + n))
    next.set(this.buf.subarray(0, this.at))
    this.buf = next
    this.view = new DataView(next.buffer)
  }
}
