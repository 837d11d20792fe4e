import { describe, expect, it } from 'vitest'
import { convert, inferType, parseEventTime, parseIsoTime } from '../../../engine/ingest/values.ts'

describe('time parsing', () => {
  it('reads ISO dates and date-times as UTC unless an offset is given', () => {
    expect(parseIsoTime('2024-03-01')).toBe('2024-03-01T00:00:00.000Z')
    expect(parseIsoTime('2024-03-01T10:20')).toBe('2024-03-01T10:20:00.000Z')
    expect(parseIsoTime('2024-03-01 10:20:30.5')).toBe('2024-03-01T10:20:30.500Z')
    expect(parseIsoTime('2024-03-01T10:20:30+02:00')).toBe('2024-03-01T08:20:30.000Z')
    expect(parseIsoTime('2024-03-01T10:20:30-0530')).toBe('2024-03-01T15:50:30.000Z')
    expect(parseIsoTime('2024-03-01T10:20:30.123Z')).toBe('2024-03-01T10:20:30.123Z')
  })
  it('rejects impossible calendar dates, also on the canonical fast path', () => {
    expect(parseIsoTime('2024-02-29T00:00:00.000Z')).toBe('2024-02-29T00:00:00.000Z')
    expect(parseIsoTime('2023-02-29T00:00:00.000Z')).toBeNull()
    expect(parseIsoTime('2023-02-29')).toBeNull()
    expect(parseIsoTime('2024-13-01')).toBeNull()
    expect(parseIsoTime('2024-04-31T00:00:00.000Z')).toBeNull()
    expect(parseIsoTime('2024-01-01T24:00:00.000Z')).toBeNull()
    expect(parseIsoTime('yesterday')).toBeNull()
  })
  it('accepts Dates and epoch seconds or milliseconds as event times', () => {
    expect(parseEventTime(new Date('2024-01-01T00:00:00Z'))).toBe('2024-01-01T00:00:00.000Z')
    expect(parseEventTime(1704067200)).toBe('2024-01-01T00:00:00.000Z')
    expect(parseEventTime(1704067200000)).toBe('2024-01-01T00:00:00.000Z')
    expect(parseEventTime('1704067200')).toBe('2024-01-01T00:00:00.000Z')
    expect(parseEventTime(true)).toBeNull()
  })
})

describe('type inference and conversion', () => {
  it('infers CSV cells: numbers, booleans, ISO dates, else strings', () => {
    const t = (value: string) => inferType({ kind: 'text', value })
    expect([t('42'), t('-1.5e3'), t('TRUE'), t('false'), t('2024-01-01'), t('abc'), t('1,5'), t('Infinity')]).toEqual([
      'number',
      'number',
      'boolean',
      'boolean',
      'date',
      'string',
      'string',
      'string',
    ])
  })
  it('infers JSON values: a numeric string stays a string', () => {
    const t = (value: unknown) => inferType({ kind: 'json', value })
    expect([t(1), t(true), t('2024-01-01T10:00:00Z'), t('42'), t([1])]).toEqual([
      'number',
      'boolean',
      'date',
      'string',
      null,
    ])
  })
  it('converts to an existing type or explains why not', () => {
    expect(convert({ kind: 'json', value: '12.5' }, 'number')).toEqual({ ok: true, value: 12.5 })
    expect(convert({ kind: 'json', value: 7 }, 'string')).toEqual({ ok: true, value: '7' })
    expect(convert({ kind: 'text', value: 'abc' }, 'number')).toEqual({ ok: false, reason: '"abc" is not a number' })
    expect(convert({ kind: 'json', value: 1 }, 'boolean')).toEqual({ ok: false, reason: '1 is not a boolean' })
    expect(convert({ kind: 'json', value: 'soon' }, 'date')).toEqual({ ok: false, reason: '"soon" is not a date' })
  })
})
