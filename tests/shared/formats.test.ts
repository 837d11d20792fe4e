import { describe, expect, it } from 'vitest'
import { literal } from '../../engine/compiler/literals.ts'
import { csvCell } from '../../engine/csv-cells.ts'
import { inferType, parseIsoTime } from '../../engine/ingest/values.ts'
import { isIsoDate, isIsoDay, isPlainNumber, readIsoDateTime } from '../../shared/formats.ts'

// Ingestion (engine/ingest/values.ts) and the rule compiler (engine/compiler/literals.ts) each
// had their own ISO regex: ingestion read 1–9 fraction digits and a lowercase `z`, the compiler
// 1–6 digits and no `z`, and only ingestion checked the offset. A date that ingestion stored
// could not be written in a rule, and `+99:00` reached PostgreSQL (a 500). One reading now.
const dateInRule = (v: string) => {
  try {
    return literal(v, 'date', '/value', 'delivered').value
  } catch {
    return null
  }
}

describe('ISO dates: one reading for ingestion and rules', () => {
  const both: Array<[string, string | null]> = [
    // [text, the instant ingestion stores (a zoneless text is UTC there)]
    ['2024-03-01T10:20:30.1234567Z', '2024-03-01T10:20:30.123Z'], // 7 digits: compiler refused
    ['2024-03-01T10:20:30.123456789Z', '2024-03-01T10:20:30.123Z'], // 9 digits (nanoseconds): compiler refused
    ['2024-03-01T10:20:30.123456Z', '2024-03-01T10:20:30.123Z'],
    ['2024-03-01T10:20:30.9999999+02:00', '2024-03-01T08:20:30.999Z'], // truncated, never rounded up
    ['2024-03-01T10:20:30z', '2024-03-01T10:20:30.000Z'], // lowercase z (RFC 3339): compiler refused
    ['2024-03-01 10:20', '2024-03-01T10:20:00.000Z'],
    ['2024-03-01T10:20:30+0530', '2024-03-01T04:50:30.000Z'],
    ['2024-03-01T10:20:30-05', '2024-03-01T15:20:30.000Z'],
    ['2024-03-01T10:20:30.1234567890Z', null], // 10 digits: neither
    ['2024-03-01T10:20:30+24:00', null], // offset hour 24: compiler accepted, PostgreSQL refused
    ['2024-03-01T10:20:30+02:60', null],
    ['2024-03-01T10:20:30.Z', null],
    ['2024-02-30', null],
    ['2023-02-29T00:00Z', null],
    ['2024-03-01T24:00', null],
    ['2024-03-01t10:20', null],
    ['20240301', null],
  ]
  it.each(both)('%s', (text, stored) => {
    expect(parseIsoTime(text)).toBe(stored)
    expect(readIsoDateTime(text) !== null).toBe(stored !== null)
    expect(dateInRule(text) !== null).toBe(stored !== null)
    // A zoned literal is given to the database as the very instant ingestion stores.
    if (stored && readIsoDateTime(text)?.offsetMinutes !== null) expect(dateInRule(text)).toBe(stored)
  })

  it('reads a zoneless literal in the workspace time zone, to the millisecond as stored', () => {
    expect(dateInRule('2024-03-01')).toBe('2024-03-01T00:00:00.000')
    expect(dateInRule('2024-03-01T08:30')).toBe('2024-03-01T08:30:00.000')
    expect(dateInRule('2024-03-01 08:30:00.123456789')).toBe('2024-03-01T08:30:00.123')
    expect(readIsoDateTime('2024-03-01T08:30')?.offsetMinutes).toBeNull()
    expect(readIsoDateTime('2024-03-01T08:30z')?.offsetMinutes).toBe(0)
    expect(readIsoDateTime('2024-03-01T08:30-01:30')?.offsetMinutes).toBe(-90)
  })

  it('keeps rule dates in years 0001–9999, also once the offset is applied', () => {
    expect(isIsoDate('0001-01-01')).toBe(true)
    expect(isIsoDate('0000-12-31')).toBe(false)
    expect(isIsoDate('0001-01-01T00:30+01:00')).toBe(false) // year 0 in UTC
    expect(isIsoDate('9999-12-31T23:00-05:00')).toBe(false) // year 10000 in UTC
    expect(dateInRule('9999-12-31T23:00-05:00')).toBeNull()
    expect(isIsoDate('9999-12-31T23:00Z')).toBe(true)
  })

  it('tells a calendar day', () => {
    expect(isIsoDay('2024-02-29')).toBe(true)
    expect(isIsoDay('2023-02-29')).toBe(false)
    expect(isIsoDay('2024-02-29T00:00')).toBe(false)
  })
})

describe('plain numbers: one reading for ingestion, audience filters and CSV exports', () => {
  it.each([
    ['12', true],
    ['-3.5', true],
    ['+3', true],
    ['.5', true],
    ['5.', true],
    ['1e3', true],
    ['-1.5E-3', true],
    ['', false],
    ['.', false],
    ['-', false],
    ['1e', false],
    ['0x10', false],
    ['1_000', false],
    ['1,5', false],
    ['Infinity', false],
    ['NaN', false],
    [' 1', false],
    ['1 ', false],
    ['--1', false],
  ])('%j → %s', (text, plain) => {
    expect(isPlainNumber(text)).toBe(plain)
    // Ingestion infers a number from the same text (it trims a CSV cell first)…
    if (text === text.trim()) expect(inferType({ kind: 'text', value: text }) === 'number').toBe(plain)
    // …and a CSV export leaves a signed number alone but neutralises other text starting with a sign.
    if (text.startsWith('-') || text.startsWith('+')) expect(csvCell(text).startsWith("'")).toBe(!plain)
  })
})
