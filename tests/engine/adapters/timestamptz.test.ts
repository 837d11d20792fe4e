import { expect, it } from 'vitest'
import { parseTimestamptz } from '../../../engine/adapters/timestamptz.ts'
import { describeEachDb, newDb } from '../../helpers/db.ts'

it('reads PostgreSQL timestamptz text of every year, fraction and offset', () => {
  const iso = (s: string) => parseTimestamptz(s).toISOString()
  expect(iso('2026-12-06 19:00:00+00')).toBe('2026-12-06T19:00:00.000Z')
  expect(iso('2026-12-06 19:00:00.123456+00')).toBe('2026-12-06T19:00:00.123Z')
  expect(iso('2026-12-06 14:00:00-05')).toBe('2026-12-06T19:00:00.000Z')
  expect(iso('2026-12-07 00:30:00+05:30')).toBe('2026-12-06T19:00:00.000Z')
  expect(iso('0050-01-01 00:00:00-04:56:02')).toBe('0050-01-01T04:56:02.000Z')
  expect(iso('0001-01-01 00:00:00+00')).toBe('0001-01-01T00:00:00.000Z')
  expect(iso('0099-12-31 23:59:59.999+00')).toBe('0099-12-31T23:59:59.999Z')
  expect(iso('9999-12-31 23:59:59+00')).toBe('9999-12-31T23:59:59.000Z')
  expect(iso('0001-01-01 00:00:00+00 BC')).toBe('0000-01-01T00:00:00.000Z')
  expect(Number.isNaN(parseTimestamptz('infinity').getTime())).toBe(true)
})

describeEachDb('timestamptz values read back', (kind) => {
  it('keeps years below 100 (new Date() read them as 19xx and 20xx)', async () => {
    const db = await newDb(kind)
    try {
      await db.exec(`SET TIME ZONE 'UTC'`)
      const r = await db.query<{ a: Date; b: Date; c: Date }>(
        `SELECT '0001-01-01T00:00:00Z'::timestamptz AS a, '0050-06-01T12:00:00Z'::timestamptz AS b, '2026-12-06T19:00:00.5Z'::timestamptz AS c`,
      )
      const row = r.rows[0]!
      expect([row.a, row.b, row.c].map((d) => d.toISOString())).toEqual([
        '0001-01-01T00:00:00.000Z',
        '0050-06-01T12:00:00.000Z',
        '2026-12-06T19:00:00.500Z',
      ])
    } finally {
      await db.dispose()
    }
  })
})
