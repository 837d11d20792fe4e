import fc from 'fast-check'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Ingestor } from '../../../engine/ingest/index.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeSchema, loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { stagingTables, untilStaged } from './stages.ts'

async function ingestBody(
  db: SqlExecutor,
  kind: 'users' | 'events',
  format: 'csv' | 'ndjson',
  chunks: string[] | string,
  opts = {},
) {
  const ing = new Ingestor(db, kind, format, opts)
  for (const c of typeof chunks === 'string' ? [chunks] : chunks) await ing.push(c)
  return ing.finish()
}

/** Users with attributes by name, sorted by user_id. */
async function users(db: SqlExecutor) {
  const cols = [...(await loadCatalogue(db)).users.values()]
  const r = await db.query<Record<string, unknown>>(`SELECT * FROM users ORDER BY user_id`)
  return r.rows.map((row) => ({
    user_id: row.user_id,
    ...Object.fromEntries(cols.filter((c) => row[c.column] !== null).map((c) => [c.name, row[c.column]])),
  }))
}

/** Events of one name with properties by name, in ingestion order. */
async function events(db: SqlExecutor, name: string) {
  const info = (await loadCatalogue(db)).events.get(name)
  if (!info) return []
  const cols = [...info.properties.values()]
  const r = await db.query<Record<string, unknown>>(
    `SELECT e.*, u.user_id FROM ${info.table} e JOIN users u USING (uid) ORDER BY e.seq`,
  )
  return r.rows.map((row) => ({
    user_id: row.user_id,
    time: row.time,
    event_id: row.event_id,
    ...Object.fromEntries(cols.filter((c) => row[c.column] !== null).map((c) => [c.name, row[c.column]])),
  }))
}

/**
 * A structural failure fails the request: at the push that reveals it when parsing inline, and
 * with worker parsing (pushes are queued) at a later push or at the latest at finish.
 */
async function expectFailure(ing: Ingestor, chunk: string, match: Record<string, unknown>) {
  const pushed = await ing.push(chunk).then(
    () => null,
    (e: unknown) => e,
  )
  if (pushed) expect(pushed).toMatchObject(match)
  await expect(ing.finish()).rejects.toMatchObject(match)
}

for (const parse of ['inline', 'worker'] as const)
  describeEachDb(`streamed ingestion, ${parse} parsing`, (kind) => {
    const ingest = (d: SqlExecutor, k: 'users' | 'events', f: 'csv' | 'ndjson', c: string[] | string, o = {}) =>
      ingestBody(d, k, f, c, { parse, ...o })
    let db: TestDb
    beforeEach(async () => {
      db = await newDb(kind)
      await migrate(db)
    })
    afterEach(async () => {
      await db.dispose()
    })

    it('reads CSV users with quoting, embedded newlines, a BOM, and infers the column types', async () => {
      const csv =
        '\uFEFFuser_id,city,age,vip,joined,note\r\nu1,"Paris, FR",31,true,2024-03-01,"line1\nline2"\r\nu2,Lyon,,FALSE,,"say ""hi"""\r\n'
      const r = await ingest(db, 'users', 'csv', csv)
      expect(r).toMatchObject({ committed: true, inserted: 2, errors: [] })
      expect(describeSchema(await loadCatalogue(db)).userAttributes).toEqual([
        { name: 'city', type: 'string' },
        { name: 'age', type: 'number' },
        { name: 'vip', type: 'boolean' },
        { name: 'joined', type: 'date' },
        { name: 'note', type: 'string' },
      ])
      expect(await users(db)).toEqual([
        {
          user_id: 'u1',
          city: 'Paris, FR',
          age: 31,
          vip: true,
          joined: new Date('2024-03-01T00:00:00Z'),
          note: 'line1\nline2',
        },
        { user_id: 'u2', city: 'Lyon', vip: false, note: 'say "hi"' },
      ])
    })

    it('reports type mismatches with data row numbers that skip the header and count quoted newlines once', async () => {
      const csv = 'user_id,age\nu1,30\nu2,"3\n1"\nu3,abc\n,4\n'
      const r = await ingest(db, 'users', 'csv', csv)
      expect(r.committed).toBe(false)
      expect(r.errors).toEqual([
        { row: 2, reason: expect.stringContaining('is not a number') },
        { row: 3, reason: expect.stringContaining('"abc" is not a number') },
        { row: 4, reason: 'missing user_id' },
      ])
      expect(await users(db)).toEqual([])
      expect(describeSchema(await loadCatalogue(db)).userAttributes).toEqual([])
      expect(await stagingTables(db)).toBe(0)
    })

    it('checks values against types already in the catalogue', async () => {
      await ingest(db, 'users', 'ndjson', '{"user_id":"u1","properties":{"age":30}}\n')
      const r = await ingest(db, 'users', 'csv', 'user_id,age\nu2,old\nu3,40\n', { skipInvalid: true })
      expect(r).toMatchObject({
        committed: true,
        stored: 1,
        errors: [{ row: 1, reason: expect.stringContaining('"age" (number)') }],
      })
      expect(await users(db)).toEqual([
        { user_id: 'u1', age: 30 },
        { user_id: 'u3', age: 40 },
      ])
    })

    it('lists the first 100 errors but counts every bad row', async () => {
      const body = Array.from({ length: 150 }, (_, i) => `{"user_id":"","properties":{"i":${i}}}`).join('\n')
      const r = await ingest(db, 'users', 'ndjson', body)
      expect(r).toMatchObject({ committed: false, invalidRows: 150 })
      expect(r.errors).toHaveLength(100)
      expect(r.errors[99]).toEqual({ row: 100, reason: 'missing user_id' })
    })

    it('refuses to commit a column another request meanwhile created with another type', async () => {
      const a = new Ingestor(db, 'users', 'ndjson', { parse })
      const b = new Ingestor(db, 'users', 'ndjson', { parse, batchSize: 1 })
      await a.push('{"user_id":"u1","properties":{"x":1}}\n')
      await b.push('{"user_id":"u2","properties":{"x":"one"}}\n')
      await untilStaged(db, 1) // b has read the catalogue once its row is staged
      expect(await a.finish()).toMatchObject({ committed: true })
      await expect(b.finish()).rejects.toMatchObject({ code: 'conflict' })
      expect(await users(db)).toEqual([{ user_id: 'u1', x: 1 }])
      expect(await stagingTables(db)).toBe(0)
    })

    it('does not let a skipped bad row add to the schema', async () => {
      const body = '{"user_id":"u1","properties":{"a":1}}\n{"user_id":"u2","properties":{"leak":"x","a":"nope"}}\n'
      const r = await ingest(db, 'users', 'ndjson', body, { skipInvalid: true })
      expect(r).toMatchObject({ committed: true, stored: 1, invalidRows: 1 })
      expect(describeSchema(await loadCatalogue(db)).userAttributes).toEqual([{ name: 'a', type: 'number' }])
    })

    it('reads NDJSON events, reporting bad JSON, missing and malformed time by line number', async () => {
      const body = [
        '{"user_id":"a","event":"purchase","time":"2024-05-01T10:00:00+02:00","event_id":"p1","properties":{"amount":12.5,"category":"shoes"}}',
        '{"user_id":"a","event":"purchase","time":"2024-05-01 12:00","properties":{"amount":"x"}}',
        '{not json',
        '',
        '{"user_id":"b","event":"purchase"}',
        '{"user_id":"b","event":"purchase","time":"yesterday"}',
        '{"user_id":"b","time":"2024-05-01"}',
        '[1,2]',
      ].join('\n')
      const r = await ingest(db, 'events', 'ndjson', body)
      expect(r.committed).toBe(false)
      expect(r.errors.map((e) => e.row)).toEqual([2, 3, 5, 6, 7, 8])
      expect(r.errors[1]?.reason).toMatch(/^bad JSON/)
      expect(r.errors[2]?.reason).toBe('missing time')
      expect(r.errors[3]?.reason).toMatch(/time "yesterday"/)
      expect(r.errors[4]?.reason).toBe('missing event name')
      expect((await loadCatalogue(db)).events.size).toBe(0)

      const ok = await ingest(db, 'events', 'ndjson', body, { skipInvalid: true })
      expect(ok).toMatchObject({ committed: true, inserted: 1, invalidRows: 6 })
      expect(await events(db, 'purchase')).toEqual([
        { user_id: 'a', time: new Date('2024-05-01T08:00:00Z'), event_id: 'p1', amount: 12.5, category: 'shoes' },
      ])
    })

    it('reads CSV events: properties only where a cell is given, optional event_id, dedupe within and across requests', async () => {
      const csv =
        'user_id,event,time,event_id,amount,channel\nu1,purchase,2024-05-01T10:00:00Z,e1,10,\nu2,share,2024-05-01T11:00:00Z,,,wechat\nu1,purchase,2024-05-01T10:00:00Z,e1,10,\n'
      const first = await ingest(db, 'events', 'csv', csv)
      expect(first).toMatchObject({ committed: true, inserted: 2, duplicates: 1 })
      const again = await ingest(db, 'events', 'csv', csv)
      expect(again).toMatchObject({ committed: true, inserted: 1, duplicates: 2 }) // the share has no event_id
      expect(describeSchema(await loadCatalogue(db)).events).toEqual([
        { name: 'purchase', properties: [{ name: 'amount', type: 'number' }] },
        { name: 'share', properties: [{ name: 'channel', type: 'string' }] },
      ])
      expect(await events(db, 'purchase')).toEqual([
        { user_id: 'u1', time: new Date('2024-05-01T10:00:00Z'), event_id: 'e1', amount: 10 },
      ])
      expect(await events(db, 'share')).toHaveLength(2)
    })

    it('keeps the first of repeated event_ids in a new event, whether its user is new or already stored', async () => {
      await ingest(db, 'users', 'ndjson', '{"user_id":"old"}')
      const rows = [
        ['new1', 'e1', 0],
        ['old', 'e1', 1],
        ['old', 'e2', 2],
        ['new2', 'e2', 3],
        ['new2', 'e3', 4],
        ['old', 'e3', 5],
      ] as const
      const body = rows
        .map(([u, id, i]) =>
          JSON.stringify({
            user_id: u,
            event: 'visit',
            time: `2024-01-01T00:00:0${i}Z`,
            event_id: id,
            properties: { i },
          }),
        )
        .join('\n')
      expect(await ingest(db, 'events', 'ndjson', body, { batchSize: 2 })).toMatchObject({
        committed: true,
        inserted: 3,
        duplicates: 3,
      })
      expect((await events(db, 'visit')).map((e) => [e.user_id, e.event_id, (e as Record<string, unknown>).i])).toEqual(
        [
          ['new1', 'e1', 0],
          ['old', 'e2', 2],
          ['new2', 'e3', 4],
        ],
      )
      expect((await users(db)).map((u) => u.user_id)).toEqual(['new1', 'new2', 'old'])
      // A second request into the now existing table: only the new id is added.
      const more = [
        ['new3', 'e3', 6],
        ['new3', 'e4', 7],
      ]
        .map(([u, id, i]) =>
          JSON.stringify({
            user_id: u,
            event: 'visit',
            time: `2024-01-01T00:00:0${i}Z`,
            event_id: id,
            properties: { i },
          }),
        )
        .join('\n')
      expect(await ingest(db, 'events', 'ndjson', more)).toMatchObject({ committed: true, inserted: 1, duplicates: 1 })
      expect((await events(db, 'visit')).map((e) => e.event_id)).toEqual(['e1', 'e2', 'e3', 'e4'])
    })

    it('keeps ingestion order in seq across event tables', async () => {
      const body = ['a', 'b', 'a', 'c', 'b']
        .map((e, i) => JSON.stringify({ user_id: 'u', event: e, time: `2024-01-01T00:00:0${i}Z`, properties: { i } }))
        .join('\n')
      await ingest(db, 'events', 'ndjson', body)
      const cat = await loadCatalogue(db)
      const parts = [...cat.events.values()].map(
        (e) => `SELECT seq, ${e.properties.get('i')?.column} AS i FROM ${e.table}`,
      )
      const r = await db.query<{ i: number }>(`${parts.join(' UNION ALL ')} ORDER BY seq`)
      expect(r.rows.map((x) => x.i)).toEqual([0, 1, 2, 3, 4])
    })

    it('rejects a CSV header without user_id and stores nothing', async () => {
      const ing = new Ingestor(db, 'users', 'csv', { parse })
      await expectFailure(ing, 'id,city\n1,Paris\n', { code: 'bad_request', path: '/header' })
      expect(await users(db)).toEqual([])
    })

    it('rejects bad attribute names and reserved names with a row error', async () => {
      const body = [
        JSON.stringify({ user_id: 'u1', properties: { '': 1 } }),
        JSON.stringify({ user_id: 'u2', properties: { ['x'.repeat(129)]: 1 } }),
        JSON.stringify({ user_id: 'u3', properties: { user_id: 'other' } }),
        JSON.stringify({ user_id: 'u4', properties: { nested: { a: 1 } } }),
      ].join('\n')
      const r = await ingest(db, 'users', 'ndjson', body)
      expect(r.errors.map((e) => e.reason)).toEqual([
        'attribute name is empty',
        'attribute name is longer than 128 characters',
        'attribute name "user_id" is reserved',
        expect.stringContaining('nested'),
      ])
    })

    it('stores hostile property names and values as data', async () => {
      const evil = 'x"; DROP TABLE users; --'
      const body = JSON.stringify({
        user_id: 'o\'hara"; DROP TABLE users; --',
        event: `ev'); DROP TABLE users; --`,
        time: '2024-01-01T00:00:00Z',
        properties: { [evil]: "'); DELETE FROM users; --", c1: 'not a column' },
      })
      const r = await ingest(db, 'events', 'ndjson', body)
      expect(r).toMatchObject({ committed: true, inserted: 1 })
      const cat = await loadCatalogue(db)
      const info = cat.events.get(`ev'); DROP TABLE users; --`)
      expect(info?.table).toMatch(/^ev\d+$/)
      const col = info?.properties.get(evil)?.column
      expect(col).toMatch(/^c\d+$/)
      expect(await events(db, `ev'); DROP TABLE users; --`)).toEqual([
        {
          user_id: 'o\'hara"; DROP TABLE users; --',
          time: new Date('2024-01-01T00:00:00Z'),
          event_id: null,
          [evil]: "'); DELETE FROM users; --",
          c1: 'not a column',
        },
      ])
    })

    it('fails with too_large beyond maxRows and stores nothing', async () => {
      const ing = new Ingestor(db, 'users', 'ndjson', { parse, maxRows: 2 })
      await expectFailure(ing, '{"user_id":"a"}\n{"user_id":"b"}\n{"user_id":"c"}\n', { code: 'too_large' })
      expect(await users(db)).toEqual([])
      expect(await stagingTables(db)).toBe(0)
    })

    it('stores nothing on abort, even after batches were staged', async () => {
      const ing = new Ingestor(db, 'users', 'ndjson', { parse, batchSize: 10 })
      for (let i = 0; i < 50; i++) await ing.push(`{"user_id":"u${i}","properties":{"n":${i}}}\n`)
      await untilStaged(db, 1)
      expect(await stagingTables(db)).toBe(1)
      await ing.abort()
      expect(await users(db)).toEqual([])
      expect(await stagingTables(db)).toBe(0)
    })

    it('stores large requests across many staged batches, with columns appearing mid-stream', async () => {
      const lines: string[] = []
      for (let i = 0; i < 2500; i++)
        lines.push(
          JSON.stringify({ user_id: `u${i % 2000}`, properties: i < 1500 ? { n: i } : { n: i, late: `v${i}` } }),
        )
      const r = await ingest(db, 'users', 'ndjson', lines.join('\n'), { batchSize: 300 })
      expect(r).toMatchObject({ committed: true, inserted: 2000, updated: 0 })
      const all = await users(db)
      expect(all).toHaveLength(2000)
      expect(all.find((u) => u.user_id === 'u10')).toEqual({ user_id: 'u10', n: 2010, late: 'v2010' })
      expect(all.find((u) => u.user_id === 'u1400')).toEqual({ user_id: 'u1400', n: 1400 })
    })
  })

describeEachDb('streamed ingestion split anywhere', (kind) => {
  const ingest = ingestBody
  let db: TestDb
  let expected: unknown
  const csv = '\uFEFFuser_id,city,n,note\r\nü1,"Paris, ""FR""",1,"a\r\nb"\r\nu2,Lyon,2,😀\r\nu3,,x,\r\n'
  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
    const r = await ingest(db, 'users', 'csv', csv, { skipInvalid: true })
    expected = { errors: r.errors, users: await users(db) }
  })
  afterAll(async () => {
    await db.dispose()
  })

  it('stores the same data and reports the same errors however the body is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 10 }), async (cuts) => {
        const points = [...new Set(cuts.map((c) => c % (csv.length + 1)))].sort((a, b) => a - b)
        const chunks = [0, ...points].map((p, i) => csv.slice(p, points[i] ?? csv.length))
        const r = await ingest(db, 'users', 'csv', chunks, { skipInvalid: true })
        expect({ errors: r.errors, users: await users(db) }).toEqual(expected)
      }),
      { numRuns: 15, seed: 11 },
    )
  })
})

describe('ingestion shape', () => {
  it('is exported from the ingest index', () => expect(typeof Ingestor).toBe('function'))
})
