import { isoInstant, isPlainNumber, monthDays, readIsoDateTime } from '../../shared/formats.ts'
import type { ValueType } from '../storage/catalogue.ts'

/** A property value as it arrives: typed (JSON / records) or raw text (a CSV cell). */
export type RawValue = { kind: 'json'; value: unknown } | { kind: 'text'; value: string }

/** A stored value: number, boolean, string, or an ISO timestamp string for dates. */
export type Stored = string | number | boolean

/** A conversion either yields the stored value or says why it can't. */
export type Converted = { ok: true; value: Stored } | { ok: false; reason: string }

/**
 * Parses an ISO 8601 date or date-time (read as shared/formats.ts reads it); no offset means UTC
 * (never the server's local zone, which `new Date("2024-01-02T10:00")` would use). Returns the
 * canonical ISO string or null.
 */
export function parseIsoTime(s: string): string | null {
  if (isCanonicalIso(s)) return s
  const t = readIsoDateTime(s)
  return t && isoInstant(t)
}

const d = (s: string, i: number) => s.charCodeAt(i) - 48
const digits = (s: string, from: number, n: number) => {
  let v = 0
  for (let i = from; i < from + n; i++) {
    const c = d(s, i)
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v
}

/**
 * Fast check for `YYYY-MM-DDTHH:MM:SS.sssZ` (what toISOString and most exporters write),
 * already canonical, so millions of event times skip the regex and Date round trip.
 */
function isCanonicalIso(s: string): boolean {
  if (
    s.length !== 24 ||
    s[4] !== '-' ||
    s[7] !== '-' ||
    s[10] !== 'T' ||
    s[13] !== ':' ||
    s[16] !== ':' ||
    s[19] !== '.' ||
    s[23] !== 'Z'
  )
    return false
  const y = digits(s, 0, 4),
    mo = digits(s, 5, 2),
    day = digits(s, 8, 2)
  const h = digits(s, 11, 2),
    mi = digits(s, 14, 2),
    sec = digits(s, 17, 2),
    ms = digits(s, 20, 3)
  if (y < 0 || mo < 1 || mo > 12 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0)
    return false
  return day <= monthDays(y, mo)
}

/** An event time: ISO string, Date, or Unix epoch number (seconds below 1e11, else milliseconds). */
/** True for an ISO instant within years 0001–9999 (PostgreSQL reads no year 0; toISOString writes ±YYYYYY beyond). */
export function inSupportedYears(iso: string): boolean {
  return iso.length === 24 && !iso.startsWith('0000')
}

/** Why a text value can't be stored, or null: PostgreSQL's text cannot hold U+0000. */
export function textProblem(s: string): string | null {
  return s.indexOf('\u0000') >= 0 ? 'the NUL character (U+0000) is not allowed' : null
}

export function parseEventTime(v: unknown): string | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString()
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return null
    const d = new Date(Math.abs(v) < 1e11 ? v * 1000 : v)
    return Number.isNaN(d.getTime()) ? null : d.toISOString()
  }
  if (typeof v === 'string') {
    if (isCanonicalIso(v)) return v // the common case, before the number regex and trim
    const t = v.trim()
    if (isPlainNumber(t)) return parseEventTime(Number(t))
    return parseIsoTime(t)
  }
  return null
}

/** True for values that mean "no value": absent, null, or an empty CSV cell. */
export function isEmpty(v: RawValue): boolean {
  return v.kind === 'text' ? v.value === '' : v.value === null || v.value === undefined
}

/** The type a value gets when its column is first seen (docs/semantics.md#customer-data). */
export function inferType(v: RawValue): ValueType | null {
  if (v.kind === 'text') {
    const s = v.value.trim()
    if (isPlainNumber(s) && Number.isFinite(Number(s))) return 'number'
    const low = s.toLowerCase()
    if (low === 'true' || low === 'false') return 'boolean'
    if (parseIsoTime(s) !== null) return 'date'
    return 'string'
  }
  const x = v.value
  if (typeof x === 'number') return Number.isFinite(x) ? 'number' : null
  if (typeof x === 'boolean') return 'boolean'
  if (x instanceof Date) return 'date'
  if (typeof x === 'string') return parseIsoTime(x.trim()) !== null ? 'date' : 'string'
  return null
}

function describe(v: RawValue): string {
  const s = v.value instanceof Date ? v.value.toISOString() : (JSON.stringify(v.value) ?? String(v.value))
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}

const fail = (v: RawValue, type: ValueType): Converted => ({ ok: false, reason: `${describe(v)} is not a ${type}` })

/** Converts a value to its column's type, or says why it doesn't fit. */
export function convert(v: RawValue, type: ValueType): Converted {
  const x = v.value
  if (typeof x === 'object' && x !== null && !(x instanceof Date)) {
    return { ok: false, reason: 'nested objects and arrays are not supported as values' }
  }
  switch (type) {
    case 'string':
      if (v.kind === 'text') return { ok: true, value: x as string }
      if (typeof x === 'string') return { ok: true, value: x }
      if (typeof x === 'number' && Number.isFinite(x)) return { ok: true, value: String(x) }
      if (typeof x === 'boolean') return { ok: true, value: String(x) }
      if (x instanceof Date && !Number.isNaN(x.getTime())) return { ok: true, value: x.toISOString() }
      return fail(v, type)
    case 'number': {
      if (typeof x === 'number') return Number.isFinite(x) ? { ok: true, value: x } : fail(v, type)
      if (typeof x === 'string' && isPlainNumber(x.trim())) {
        const n = Number(x.trim())
        if (Number.isFinite(n)) return { ok: true, value: n }
      }
      return fail(v, type)
    }
    case 'boolean': {
      if (typeof x === 'boolean') return { ok: true, value: x }
      const low = typeof x === 'string' ? x.trim().toLowerCase() : ''
      if (low === 'true' || low === 'false') return { ok: true, value: low === 'true' }
      return fail(v, type)
    }
    case 'date': {
      if (x instanceof Date) return Number.isNaN(x.getTime()) ? fail(v, type) : { ok: true, value: x.toISOString() }
      const iso = typeof x === 'string' ? parseIsoTime(x.trim()) : null
      return iso === null ? fail(v, type) : { ok: true, value: iso }
    }
  }
}
