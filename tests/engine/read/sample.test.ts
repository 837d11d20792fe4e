import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition, Sample, SampleValue } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { loadSampleNdjson } from '../../../engine/read/sample-load.ts'
import { sampleNdjson } from '../../../engine/read/sample-wire.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { makeRng } from '../../../shared/prng.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { newService, type Fixture } from '../calc/fixture.ts'

const DAY = 86_400_000
const base = Date.UTC(2024, 2, 1)
const iso = (ms: number) => new Date(ms).toISOString()

type Props = Record<string, SampleValue | null>
interface EventIn {
  user_id: string
  event: string
  time: string
  event_id?: string
  properties: Props
}

/**
 * A seeded shop: 60 users with attributes of every type (some users only appear through their
 * events), three events with typed properties, times on a coarse grid so a user often has
 * several events at the same instant (first/last ties are decided by ingestion order), and
 * a string attribute `note` whose first value is "n/a" but most others look like dates.
 */
function dataset(seed: number) {
  const rng = makeRng(seed)
  const users = Array.from({ length: 60 }, (_, i) => `u${String(i).padStart(3, '0')}`)
  const userRows = users
    .filter((_, i) => i % 7 !== 3)
    .map((user_id, i) => {
      const properties: Props = {
        city: rng.pick(['Paris', 'Lyon', 'Nice', null]),
        age: rng.bool(0.9) ? rng.int(18, 80) : null,
        vip: rng.bool(),
        signup: iso(base - rng.int(1, 400) * DAY),
        note: i === 0 ? 'n/a' : `2024-01-${String(rng.int(10, 28))}`,
      }
      return { user_id, properties }
    })
  const events: EventIn[] = []
  for (let i = 0; i < 900; i++) {
    const user_id = rng.pick(users)
    const time = iso(base + rng.int(0, 40) * 6 * 3600_000) // 6-hour grid: ties are common
    const kind = rng.weighted(['purchase', 'view', 'login'], [3, 5, 2])
    const properties: Props =
      kind === 'purchase'
        ? {
            amount: rng.int(1, 500) / 4,
            sku: rng.pick(['a', 'b', 'c', 'd']),
            gift: rng.bool(0.2),
            paid_at: rng.bool(0.8) ? iso(Date.parse(time) + rng.int(0, 90) * 60_000) : null,
          }
        : kind === 'view'
          ? { page: rng.pick(['home', 'cart', 'p/1', 'p/2', 'p/3']) }
          : {}
    events.push({ user_id, event: kind, time, ...(rng.bool(0.5) ? { event_id: `e${i}` } : {}), properties })
  }
  return { users, userRows, events }
}

/** A record as the sample gives it back: null properties left out. */
const stored = <T extends { properties: Props }>(r: T) => ({
  ...r,
  properties: Object.fromEntries(Object.entries(r.properties).filter(([, v]) => v !== null)),
})

const asOf = new Date(base + 12 * DAY)
const rules: Definition[] = [
  { dataType: 'number', rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } } },
  {
    dataType: 'number',
    rule: { method: 'metric', event: 'purchase', window: { lastDays: 5 }, measure: { agg: 'sum', property: 'amount' } },
  },
  { dataType: 'number', rule: { method: 'metric', event: 'view', measure: { agg: 'days' } } },
  { dataType: 'string', rule: { method: 'first_last', which: 'first', event: 'view', property: 'page' } },
  { dataType: 'string', rule: { method: 'first_last', which: 'last', event: 'view', property: 'page' } },
  { dataType: 'string', rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'sku' } },
  { dataType: 'date', rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'paid_at' } },
  { dataType: 'collection', rule: { method: 'preference', event: 'view', property: 'page', top: 2 } },
  {
    dataType: 'string',
    rule: { method: 'distribution', event: 'login', measure: { agg: 'count' }, boundaries: [1, 3] },
  },
  {
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [
        {
          value: 'vip buyer',
          when: {
            all: [
              { attribute: 'vip', op: 'eq', value: true },
              { event: 'purchase', where: [{ property: 'gift', op: 'eq', value: false }], op: 'gte', value: 1 },
            ],
          },
        },
        { value: 'early', when: { attribute: 'signup', op: 'lt', value: '2023-06-01' } },
        { value: 'noted', when: { attribute: 'note', op: 'eq', value: 'n/a' } },
      ],
      otherwise: 'other',
    },
  },
]

/** Each rule's value per user_id, for the given users, as comparable JSON. */
async function results(db: SqlExecutor, userIds: Set<string>): Promise<Array<Record<string, unknown>>> {
  const catalogue = await loadCatalogue(db)
  const out: Array<Record<string, unknown>> = []
  for (const def of rules) {
    const { sql, params } = compileRule(def, { catalogue, asOf, tz: 'Europe/Paris' })
    const r = await db.query<{ user_id: string; value: unknown }>(
      `SELECT u.user_id, r.value FROM (${sql}) r JOIN users u ON u.uid = r.uid ORDER BY u.user_id`,
      params,
    )
    const m: Record<string, unknown> = {}
    for (const row of r.rows) {
      if (!userIds.has(row.user_id)) continue
      const v = row.value
      m[row.user_id] =
        v instanceof Date
          ? v.toISOString()
          : typeof v === 'number'
            ? Number(v.toPrecision(12))
            : Array.isArray(v)
              ? [...v].sort()
              : v
    }
    out.push(m)
  }
  return out
}

const wire = (s: Sample) => [...sampleNdjson(s, { seed: 7, tz: 'Europe/Paris' }, 500)]

describeEachDb('customer sample', (kind) => {
  let src: Fixture
  const data = dataset(11)
  beforeAll(async () => {
    src = await newService(kind)
    expect((await ingestUserRecords(src.db, data.userRows)).committed).toBe(true)
    // Two requests: ingestion order (seq) runs across them and across event tables.
    expect((await ingestEventRecords(src.db, data.events.slice(0, 400))).committed).toBe(true)
    expect((await ingestEventRecords(src.db, data.events.slice(400))).committed).toBe(true)
  })
  afterAll(() => src.dispose())

  it('is deterministic for a seed, and another seed picks other users', async () => {
    const a = await src.svc.sample({ users: 20, seed: 7 })
    expect(await src.svc.sample({ users: 20, seed: 7 })).toEqual(a)
    expect(a.users).toHaveLength(20)
    expect(a.totalUsers).toBe(60)
    const b = await src.svc.sample({ users: 20, seed: 8 })
    expect(b.users.map((u) => u.user_id)).not.toEqual(a.users.map((u) => u.user_id))
    // A larger sample of the same seed contains the smaller one (the ranking is the same).
    const big = new Set((await src.svc.sample({ users: 40, seed: 7 })).users.map((u) => u.user_id))
    for (const u of a.users) expect(big.has(u.user_id)).toBe(true)
  })

  it('holds exactly the sampled users, their attributes and all their events in ingestion order', async () => {
    const s = await src.svc.sample({ users: 25, seed: 3 })
    const ids = new Set(s.users.map((u) => u.user_id))
    // Users in first-ingestion order (uid); users seen only through events have no attributes.
    const withRows = new Set(data.userRows.map((u) => u.user_id))
    expect(s.users.map((u) => u.user_id).filter((u) => withRows.has(u))).toEqual(
      data.userRows.map((u) => u.user_id).filter((u) => ids.has(u)),
    )
    expect(
      s.users
        .map((u) => u.user_id)
        .slice(0, [...ids].filter((u) => withRows.has(u)).length)
        .every((u) => withRows.has(u)),
    ).toBe(true)
    const attrs = new Map(data.userRows.map((u) => [u.user_id, stored(u).properties]))
    for (const u of s.users) expect(u.properties).toEqual(attrs.get(u.user_id) ?? {})
    expect(s.events).toEqual(data.events.filter((e) => ids.has(e.user_id)).map(stored))
    expect(s.schema).toEqual(await src.svc.schema())
  })

  it('everything when asked for more users than there are; bad sizes are refused', async () => {
    const s = await src.svc.sample({ users: 20_000, seed: 1 })
    expect(s.users).toHaveLength(60)
    expect(s.events).toHaveLength(900)
    await expect(src.svc.sample({ users: 0 })).rejects.toMatchObject({ code: 'bad_request', path: '/users' })
    await expect(src.svc.sample({ users: 20_001 })).rejects.toMatchObject({ code: 'bad_request', path: '/users' })
    await expect(src.svc.sample({ users: 1.5 })).rejects.toMatchObject({ code: 'bad_request', path: '/users' })
  })

  it('round-trips: loaded into an empty engine it gives the sampled users the same results', async () => {
    // A seed whose sample leaves out u000, so the string `note` is first seen looking like a date.
    let seed = 1
    let s = await src.svc.sample({ users: 20, seed })
    while (s.users.some((u) => u.user_id === 'u000')) s = await src.svc.sample({ users: 20, seed: ++seed })
    const dst = await newService(kind)
    try {
      const report = await loadSampleNdjson(dst.svc, dst.db, wire(s))
      expect(report).toMatchObject({
        users: 20,
        events: s.events.length,
        meta: { type: 'meta', totalUsers: 60, sampleUsers: 20, tz: 'Europe/Paris' },
      })
      expect(await dst.svc.schema()).toEqual(await src.svc.schema())
      // The replica's own full sample is the sample itself: same users, values and event order.
      const again = await dst.svc.sample({ users: 20_000, seed })
      expect({ ...again, totalUsers: 60 }).toEqual(s)
      const ids = new Set(s.users.map((u) => u.user_id))
      const expected = await results(src.db, ids)
      expect(expected.some((m) => Object.keys(m).length > 5)).toBe(true)
      expect(await results(dst.db, ids)).toEqual(expected)
    } finally {
      await dst.dispose()
    }
  })

  it('a truncated or malformed sample stream is refused', async () => {
    const s = await src.svc.sample({ users: 10, seed: 5 })
    const text = wire(s).join('')
    const cut = text.slice(0, text.lastIndexOf('\n', text.length - 2) + 1)
    const dst = await newService(kind)
    try {
      await expect(loadSampleNdjson(dst.svc, dst.db, [cut])).rejects.toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/incomplete sample/),
      })
      await expect(loadSampleNdjson(dst.svc, dst.db, [text.slice(text.indexOf('\n') + 1)])).rejects.toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/meta line/),
      })
    } finally {
      await dst.dispose()
    }
  })
})
