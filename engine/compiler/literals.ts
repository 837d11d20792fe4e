import { invalid } from '../../shared/errors.ts'
import { inSupportedYears, isoInstant, isoLocal, readIsoDateTime } from '../../shared/formats.ts'
import { ruleLimits as limits } from '../../shared/limits.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { ValueType } from '../storage/catalogue.ts'
import type { LabelValue, Literal } from './ir.ts'

/**
 * Dates are supported from year 1 to 9999 (PostgreSQL has no year 0, and ingestion refuses
 * event times outside these years, so no event can lie beyond them).
 */
export const FIRST_INSTANT = '0001-01-01T00:00:00.000Z'
export const SUPPORTED_YEARS = 'years 0001 to 9999'

const DAY_MS = 86_400_000

/**
 * The start of a `lastDays` window: n × 24 h before asOf, computed here so both engines agree
 * regardless of session time zone; never before year 1 (PostgreSQL reads no year 0, and no
 * event is older).
 */
export const lastDaysStart = (asOf: Date, days: number): Date =>
  new Date(Math.max(asOf.getTime() - days * DAY_MS, Date.parse(FIRST_INSTANT)))

/**
 * Dates are ISO 8601, read as ingestion reads them (shared/formats.ts): a calendar date
 * (`2024-03-01`, midnight in the workspace time zone), a local date-time (`2024-03-01T08:30`,
 * also in the workspace time zone) or an instant with `Z` / an offset. The literal is given to
 * the database in one canonical form, to the millisecond as stored: an instant in UTC
 * (`…Z`), or a local `YYYY-MM-DDTHH:MM:SS.sss`.
 */
function dateLiteral(s: string): string | null {
  const t = readIsoDateTime(s)
  if (!t || !inSupportedYears(t)) return null
  return t.offsetMinutes === null ? isoLocal(t) : isoInstant(t)
}

/** True when the (canonical) date literal carries no zone, so it is read in the workspace time zone. */
export function isZoneless(s: string): boolean {
  const t = readIsoDateTime(s)
  return t !== null && t.offsetMinutes === null
}

const describe = (v: unknown) => JSON.stringify(v) ?? String(v)

/** Checks a filter/attribute value against the property's type. */
export function literal(value: unknown, type: ValueType, path: string, what: string): Literal {
  const fits: Record<ValueType, (v: unknown) => boolean> = {
    string: (v) => typeof v === 'string',
    number: (v) => typeof v === 'number' && Number.isFinite(v),
    boolean: (v) => typeof v === 'boolean',
    date: (v) => typeof v === 'string' && dateLiteral(v) !== null,
  }
  if (typeof value === 'string' && value.includes('\u0000'))
    throw invalid(`${what}: the NUL character (U+0000) is not allowed in text`, path)
  if (!fits[type](value)) {
    const expected = type === 'date' ? 'an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM])' : `a ${type}`
    throw invalid(`${what} is of type ${type}: expected ${expected}, got ${describe(value)}`, path)
  }
  if (type === 'date') return { type, value: dateLiteral(value as string) as string }
  return { type, value: value as Literal['value'] }
}

/** Checks a custom layer value / otherwise against the label's data type. */
export function labelValue(value: unknown, dataType: DataType, path: string): LabelValue {
  if (dataType === 'collection') {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw invalid(`the label's data type is collection: expected an array of strings, got ${describe(value)}`, path)
    }
    if (value.length > limits.collectionValues) {
      throw invalid(`a collection value has at most ${limits.collectionValues} elements, got ${value.length}`, path)
    }
    const nul = (value as string[]).findIndex((v) => v.includes('\u0000'))
    if (nul >= 0) throw invalid('the NUL character (U+0000) is not allowed in text', `${path}/${nul}`)
    return { type: 'collection', value: [...new Set(value as string[])] }
  }
  const lit = literal(value, dataType, path, "the label's data type")
  return { type: dataType, value: lit.value }
}
