/**
 * Seeded customer data for compiler tests: the same records go into the database through
 * the real ingestion and into the reference evaluator (tests/helpers/reference.ts).
 * Built to hit edges: ties in time (later seq wins), missing properties and attributes,
 * events exactly at asOf and at window edges, local midnights in the workspace zone.
 */
import { expect } from 'vitest'
import type { Definition } from '../../engine/api.ts'
import { ingestEventRecords, ingestUserRecords } from '../../engine/ingest/index.ts'
import type { EngineService } from '../../engine/service.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
import { migrate } from '../../engine/storage/ddl.ts'
import { makeRng } from '../../shared/prng.ts'
import type { RefData, RefEvent, RefUser, Val } from './reference.ts'

export const ASOF = new Date('2024-03-15T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

export const CITIES = ['Paris', 'paris', 'Rome', 'Berlin', 'São Paulo', "O'Brien'; DROP TABLE users; --", '100%_off']
export const PRODUCTS = ['apple', 'banana', 'cherry', 'Apple', 'durian', 'a%b_c']
export const PAGES = ['home', 'cart', 'checkout', 'search']

export const userTypes = { city: 'string', age: 'number', vip: 'boolean', signup: 'date', score: 'number' } as const
export const eventTypes = {
  purchase: { amount: 'number', product: 'string', paid: 'boolean', delivered: 'date' },
  view: { page: 'string', duration: 'number' },
  login: {},
} as const

/** Generates users and events; every optional value is missing now and then. */
export function generateData(seed: number, opts: { users?: number; events?: number } = {}): RefData {
  const rng = makeRng(seed)
  const nUsers = opts.users ?? 300
  const nEvents = opts.events ?? 4000
  const maybe = <T>(p: number, f: () => T): T | undefined => (rng.bool(p) ? f() : undefined)
  const hourTime = () => ASOF.getTime() + rng.int(-45 * 24, 2 * 24) * HOUR
  const users: RefUser[] = []
  for (let i = 0; i < nUsers; i++) {
    users.push({
      user_id: `u${i}`,
      attrs: {
        city: maybe(0.85, () => rng.pick(CITIES)),
        age: maybe(0.8, () => rng.int(16, 80)),
        vip: maybe(0.7, () => rng.bool(0.3)),
        signup: maybe(0.75, () =>
          new Date(ASOF.getTime() - rng.int(0, 400) * DAY - rng.int(0, 23) * HOUR).toISOString(),
        ),
        score: maybe(0.8, () => rng.int(-40, 400) / 4),
      },
    })
  }
  // Users 0..nUsers*0.8 have events, the rest never do.
  const active = Math.floor(nUsers * 0.8)
  const lastTime = new Map<string, number>()
  const edges = [
    ASOF.getTime(),
    ASOF.getTime() - 7 * DAY,
    ASOF.getTime() - 30 * DAY,
    ASOF.getTime() - 1,
    Date.parse('2024-03-01T05:00:00Z'),
    Date.parse('2024-03-10T04:00:00Z'),
  ]
  const events: RefEvent[] = []
  for (let i = 0; i < nEvents; i++) {
    const user_id = `u${rng.int(0, active - 1)}`
    const r = rng.next()
    const prev = lastTime.get(user_id)
    const time = r < 0.08 && prev !== undefined ? prev : r < 0.14 ? rng.pick(edges) : hourTime()
    lastTime.set(user_id, time)
    const event = rng.weighted(['purchase', 'view', 'login'] as const, [5, 4, 1])
    let props: Record<string, Val | undefined> = {}
    if (event === 'purchase') {
      props = {
        amount: maybe(0.85, () => rng.int(0, 800) / 4),
        product: maybe(0.85, () => rng.pick(PRODUCTS)),
        paid: maybe(0.8, () => rng.bool(0.7)),
        delivered: maybe(0.6, () => new Date(time + rng.int(0, 10) * DAY).toISOString()),
      }
    } else if (event === 'view') {
      props = { page: maybe(0.9, () => rng.pick(PAGES)), duration: maybe(0.8, () => rng.int(1, 600)) }
    }
    events.push({ user_id, event, time, seq: i, props })
  }
  return {
    users,
    events,
    userTypes: { ...userTypes },
    eventTypes: { purchase: { ...eventTypes.purchase }, view: { ...eventTypes.view }, login: {} },
  }
}

const defined = (o: Record<string, Val | undefined>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

/** Loads data through the real ingestion (types are inferred from the values, as in production). */
export async function loadData(db: SqlExecutor, data: RefData): Promise<void> {
  await migrate(db)
  const u = await ingestUserRecords(
    db,
    data.users.map((x) => ({ user_id: x.user_id, properties: defined(x.attrs) })),
  )
  if (!u.committed) throw new Error(`user ingestion failed: ${JSON.stringify(u.errors.slice(0, 3))}`)
  const e = await ingestEventRecords(
    db,
    data.events.map((x) => ({
      user_id: x.user_id,
      event: x.event,
      time: new Date(x.time).toISOString(),
      properties: defined(x.props),
    })),
  )
  if (!e.committed) throw new Error(`event ingestion failed: ${JSON.stringify(e.errors.slice(0, 3))}`)
}

/**
 * `count` customers `u0`, `u1`… with no attributes, each with one purchase (no properties) 1 to
 * `spreadDays` days before ASOF (customer i: 1 + i % spreadDays days), through the real ingestion.
 */
export async function ingestPurchasers(db: SqlExecutor, count: number, spreadDays: number): Promise<void> {
  const users = Array.from({ length: count }, (_, i) => ({ user_id: `u${i}`, properties: {} }))
  expect((await ingestUserRecords(db, users)).committed).toBe(true)
  const purchases = users.map((u, i) => ({
    user_id: u.user_id,
    event: 'purchase',
    time: new Date(ASOF.getTime() - (1 + (i % spreadDays)) * DAY).toISOString(),
    properties: {},
  }))
  expect((await ingestEventRecords(db, purchases)).committed).toBe(true)
}

/** Runs a compiled rule; returns user_id → value, dates as ISO strings. Fails on NULL or duplicate rows. */
export async function runCompiled(
  db: SqlExecutor,
  compiled: { sql: string; params: unknown[] },
): Promise<Map<string, unknown>> {
  const r = await db.query<{ user_id: string; value: unknown }>(
    `SELECT u.user_id, r.value FROM (${compiled.sql}) r JOIN users u ON u.uid = r.uid`,
    compiled.params,
  )
  const out = new Map<string, unknown>()
  for (const row of r.rows) {
    if (row.value === null || row.value === undefined) throw new Error(`NULL value for ${row.user_id}`)
    if (out.has(row.user_id)) throw new Error(`two rows for ${row.user_id}`)
    out.set(row.user_id, row.value instanceof Date ? row.value.toISOString() : row.value)
  }
  return out
}

/** A label's stored results (the table label_state names), user_id → value (dates as ISO strings). */
export async function storedResults(db: SqlExecutor, labelId: string): Promise<Map<string, unknown>> {
  const st = await db.query<{ result_table: string }>(`SELECT result_table FROM label_state WHERE label_id = $1`, [
    labelId,
  ])
  const t = st.rows[0]?.result_table
  if (!t) throw new Error(`${labelId} has no results`)
  return runCompiled(db, { sql: `SELECT uid, value FROM ${t}`, params: [] })
}

/** Entries sorted by user_id, values as they are (exact comparisons). */
export const sortedEntries = (m: Map<string, unknown>): Array<[string, unknown]> =>
  [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))

/** Sorted entries with numbers rounded to 9 significant digits, for toEqual comparisons. */
export function comparable(m: Map<string, unknown>): Array<[string, unknown]> {
  const norm = (v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)
  return [...m.entries()].map(([k, v]) => [k, norm(v)] as [string, unknown]).sort((a, b) => (a[0] < b[0] ? -1 : 1))
}

/** Creates a scheduled run of `label` at asOf through `service`, executes it and expects it to succeed; the run's id. */
export async function runLabelAt(
  service: EngineService,
  label: { id: string; def: Definition },
  asOf: Date,
  tz: string,
): Promise<string> {
  const run = await service.createRun({
    labelId: label.id,
    trigger: 'schedule',
    asOf: asOf.toISOString(),
    definition: label.def,
  })
  const done = await service.executeRun(run.id, { tz })
  expect(done.status, `${label.id}: ${done.error}`).toBe('succeeded')
  return run.id
}
