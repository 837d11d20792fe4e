import { afterAll, beforeAll, expect, it } from 'vitest'
import { CsvParser } from '../../../engine/ingest/csv-parser.ts'
import { Ingestor } from '../../../engine/ingest/ingestor.ts'
import { NdjsonParser } from '../../../engine/ingest/ndjson-parser.ts'
import { maxRecordChars, RecordTooLarge } from '../../../engine/ingest/record-limit.ts'
import { EngineService } from '../../../engine/service.ts'
import { describe } from 'vitest'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/** Feeds `total` characters of `fill` in chunks of `size`; returns how many were pushed before the parser threw, and what it threw. */
function feed(
  push: (chunk: string) => void,
  prefix: string,
  fill: string,
  total: number,
  size: number,
): { pushed: number; error: unknown } {
  let pushed = 0
  try {
    push(prefix)
    while (pushed < total) {
      push(fill.repeat(Math.min(size, total - pushed)))
      pushed += size
    }
    return { pushed, error: null }
  } catch (error) {
    return { pushed, error }
  }
}

describe('parsers refuse a record past the limit as soon as it passes it', () => {
  it('NDJSON: a line growing across chunks, numbered after the lines before it', () => {
    const p = new NdjsonParser(100)
    const lines: number[] = []
    const r = feed(
      (c) => {
        for (const l of p.push(c)) lines.push(l.line)
      },
      '{"a":1}\n{"b":2}\n{"c":"',
      'x',
      10_000,
      30,
    )
    expect(lines).toEqual([1, 2])
    expect(r.error).toBeInstanceOf(RecordTooLarge)
    expect(r.error).toMatchObject({ record: 3, limit: 100 })
    expect(r.pushed).toBeLessThanOrEqual(120) // stopped at the limit, not at the end of the input
  })

  it('NDJSON: a long line inside one chunk, or left at its end', () => {
    expect(() => [...new NdjsonParser(10).push('{"a":1}\n' + 'y'.repeat(11) + '\n')]).toThrow(
      expect.objectContaining({ record: 2 }),
    )
    expect(() => [...new NdjsonParser(10).push('{"a":1}\n{}\n' + 'y'.repeat(11))]).toThrow(
      expect.objectContaining({ record: 3 }),
    )
    expect([...new NdjsonParser(10).push('y'.repeat(10) + '\n')]).toHaveLength(1) // exactly the limit is fine
  })

  it('CSV: an unterminated quote swallowing the rest of the body is refused mid-body, flagged as in quotes', () => {
    const p = new CsvParser(100)
    const records: number[] = []
    const r = feed(
      (c) => {
        for (const x of p.push(c)) records.push(x.record)
      },
      'user_id,city\nu1,Paris\nu2,"Ly',
      'on,',
      10_000,
      20,
    )
    expect(records).toEqual([1, 2])
    expect(r.error).toMatchObject({ record: 3, limit: 100, inQuotes: true })
    expect(r.pushed).toBeLessThanOrEqual(60)
  })

  it('CSV: a long plain record counts every field', () => {
    const p = new CsvParser(50)
    expect(() => [...p.push('a,b\n' + 'x,'.repeat(30) + '\n')]).toThrow(
      expect.objectContaining({ record: 2, inQuotes: false }),
    )
    expect([...new CsvParser(50).push('a,b\n' + 'x'.repeat(20) + ',' + 'y'.repeat(20) + '\n')]).toHaveLength(2)
  })
})

describeEachDb('a record past 16 MiB fails the request with 413 and its row number', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(db)
    await svc.migrate()
  })
  afterAll(() => db.dispose())

  const userCount = async () =>
    Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]?.n)
  const chunk = 'z'.repeat(1 << 20)

  for (const parse of ['inline', 'worker'] as const) {
    it(`NDJSON: one line of more than ${maxRecordChars} characters (${parse})`, async () => {
      const ing = new Ingestor(db, 'users', 'ndjson', { parse })
      let error: unknown = null
      try {
        await ing.push('{"user_id":"ok"}\n{"user_id":"big","properties":{"note":"')
        for (let i = 0; i < 40; i++) await ing.push(chunk) // 40 MiB offered; refused after ~16
        await ing.push('"}}\n')
        await ing.finish()
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({
        code: 'too_large',
        status: 413,
        path: '/2',
        details: { row: 2, limit: maxRecordChars },
      })
      expect((error as Error).message).toMatch(/^row 2 is longer than 16777216 characters/)
      expect(await userCount()).toBe(0)
    })

    it(`CSV: an unterminated quote at the end of a big body (${parse})`, async () => {
      const ing = new Ingestor(db, 'users', 'csv', { parse })
      let error: unknown = null
      try {
        await ing.push('user_id,note\nu1,fine\nu2,"never closed ')
        for (let i = 0; i < 20; i++) await ing.push(chunk)
        await ing.finish()
      } catch (e) {
        error = e
      }
      expect(error).toMatchObject({ code: 'too_large', path: '/2', details: { row: 2 } })
      expect((error as Error).message).toMatch(/row 2 is longer than .*unterminated quote/)
      expect(await userCount()).toBe(0)
    })
  }

  it('an unterminated quote in a small body is still a row error (400 path, not 413)', async () => {
    const ing = new Ingestor(db, 'users', 'csv')
    await ing.push('user_id,note\nu1,fine\nu2,"never closed\n')
    const r = await ing.finish()
    expect(r).toMatchObject({
      committed: false,
      invalidRows: 1,
      errors: [{ row: 2, reason: 'unterminated quoted field' }],
    })
  })
})
