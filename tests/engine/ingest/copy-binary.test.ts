import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isoMs } from '../../../engine/ingest/copy-binary.ts'
import { Ingestor } from '../../../engine/ingest/index.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { makeRng } from '../../../shared/prng.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/** The same database without `copyFrom`: staging falls back to INSERT … SELECT FROM unnest. */
function withoutCopy(db: SqlExecutor): SqlExecutor {
  return { ...db, copyFrom: undefined }
}

async function ingest(db: SqlExecutor, kind: 'users' | 'events', body: string, opts = {}) {
  const ing = new Ingestor(db, kind, 'ndjson', opts)
  await ing.push(body)
  return ing.finish()
}

/** Every stored row of every table, by attribute/property name, for comparing two databases. */
async function dump(db: SqlExecutor) {
  const cat = await loadCatalogue(db)
  const ucols = [...cat.users.values()]
  const users = (await db.query<Record<string, unknown>>('SELECT * FROM users ORDER BY uid')).rows.map((r) => ({
    uid: r.uid,
    user_id: r.user_id,
    ...Object.fromEntries(ucols.map((c) => [c.name, r[c.column]])),
  }))
  const events: Record<string, unknown[]> = {}
  for (const e of cat.events.values()) {
    const cols = [...e.properties.values()]
    events[e.name] = (await db.query<Record<string, unknown>>(`SELECT * FROM ${e.table} ORDER BY seq`)).rows.map(
      (r) => ({
        seq: r.seq,
        uid: r.uid,
        time: r.time,
        event_id: r.event_id,
        ...Object.fromEntries(cols.map((c) => [c.name, r[c.column]])),
      }),
    )
  }
  return { users, events }
}

const edgeStrings = [
  '',
  ' ',
  'plain',
  'ü ß é',
  '😀 emoji',
  'tab\there',
  'new\nline',
  'quote " and \\ backslash',
  '{curly,comma}',
  'NULL',
  '\\N',
  'x'.repeat(3000),
]
const edgeNumbers = [0, -0, 1, -1, 0.1, 1e308, -1e308, 5e-324, 123456789.123, 2 ** 53]
const edgeTimes = [
  '2024-02-29T23:59:59.999Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '1969-12-31T23:59:59.999Z',
  '2000-01-01T00:00:00Z',
  '2024-06-01T12:00:00+05:30',
  1_700_000_000,
  1_700_000_000_123,
]

/** Seeded events mixing every value type, nulls, absent properties and repeated event_ids. */
function mixedEvents(seed: number, n: number): string {
  const rnd = makeRng(seed)
  const pick = <T>(xs: readonly T[]): T => rnd.pick(xs)
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const props: Record<string, unknown> = {}
    if (rnd.next() < 0.8) props.s = pick(edgeStrings)
    if (rnd.next() < 0.8) props.n = pick(edgeNumbers)
    if (rnd.next() < 0.5) props.b = rnd.next() < 0.5
    if (rnd.next() < 0.5) props.d = pick(edgeTimes.filter((t) => typeof t === 'string'))
    if (rnd.next() < 0.1) props.s = null
    const eventId = rnd.next() < 0.2 ? null : `e${Math.floor(rnd.next() * n)}`
    lines.push(
      JSON.stringify({
        user_id: `u${Math.floor(rnd.next() * 50)}`,
        event: pick(['a', 'b', 'c']),
        time: pick(edgeTimes),
        event_id: eventId,
        properties: props,
      }),
    )
  }
  return lines.join('\n')
}

describeEachDb('binary COPY staging against the unnest path', (kind) => {
  let copy: TestDb
  let plain: TestDb
  beforeEach(async () => {
    copy = await newDb(kind)
    plain = await newDb(kind)
    await migrate(copy)
    await migrate(plain)
  })
  afterEach(async () => {
    await copy.dispose()
    await plain.dispose()
  })

  it('stores exactly the same users, events, times and typed values', async () => {
    expect(copy.copyFrom).toBeTypeOf('function')
    const users = Array.from({ length: 60 }, (_, i) =>
      JSON.stringify({
        user_id: `u${i}`,
        properties: {
          name: edgeStrings[i % edgeStrings.length],
          score: edgeNumbers[i % edgeNumbers.length],
          vip: i % 3 === 0,
          since: edgeTimes[i % 6],
        },
      }),
    ).join('\n')
    for (const db of [copy, withoutCopy(plain)]) {
      expect(await ingest(db, 'users', users, { batchSize: 7 })).toMatchObject({ committed: true, inserted: 60 })
      expect(await ingest(db, 'events', mixedEvents(5, 700), { batchSize: 50 })).toMatchObject({ committed: true })
      expect(await ingest(db, 'events', mixedEvents(6, 300), { batchSize: 50 })).toMatchObject({ committed: true })
    }
    const a = await dump(copy)
    expect(a.events.a?.length).toBeGreaterThan(100)
    expect(a).toEqual(await dump(plain))
  })

  it('refuses what PostgreSQL refuses as text: a NUL in a string, a year-0 date', async () => {
    const nul = JSON.stringify({
      user_id: 'u1',
      event: 'a',
      time: '2024-01-01T00:00:00Z',
      properties: { s: 'a\u0000b' },
    })
    const year0 = JSON.stringify({ user_id: 'u1', event: 'a', time: '0000-06-01T00:00:00Z' })
    for (const body of [nul, year0]) {
      const viaCopy = await ingest(copy, 'events', body).then(
        (r) => r.committed,
        (e: Error) => e.constructor.name,
      )
      const viaUnnest = await ingest(withoutCopy(plain), 'events', body).then(
        (r) => r.committed,
        (e: Error) => e.constructor.name,
      )
      expect(viaCopy).toBe(viaUnnest)
    }
    expect(await dump(copy)).toEqual(await dump(plain))
  })
})

describe('stored time to epoch ms', () => {
  it('agrees with Date.parse on every canonical time of years 1 to 9999, and on other forms', () => {
    const min = Date.parse('0001-01-01T00:00:00.000Z'),
      max = Date.parse('9999-12-31T23:59:59.999Z')
    fc.assert(
      fc.property(fc.integer({ min, max }), (ms) => {
        const iso = new Date(ms).toISOString()
        expect(isoMs(iso)).toBe(ms)
      }),
      { numRuns: 20_000, seed: 3 },
    )
    for (const s of ['2024-02-29T12:00:00Z', '+010000-01-01T00:00:00.000Z', '2024-02-29T12:00:00.000+01:00'])
      expect(isoMs(s)).toBe(Date.parse(s))
  })
})
