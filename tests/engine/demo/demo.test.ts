import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { demoEvents, demoUsers, loadDemo } from '../../../engine/demo/index.ts'
import type { EventRecord } from '../../../engine/ingest/index.ts'
import { describeSchema, loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

const now = '2025-03-01T00:00:00.000Z'
const opts = { users: 3000, seed: 7, now }

describe('demo generator', () => {
  const events: EventRecord[] = [...demoEvents(opts)]
  const users = [...demoUsers(opts)]

  it('generates the same customers and events for the same seed', () => {
    expect([...demoUsers(opts)]).toEqual(users)
    expect([...demoEvents(opts)]).toEqual(events)
  })

  it('generates different data for another seed', () => {
    expect([...demoUsers({ ...opts, seed: 8 })].slice(0, 20)).not.toEqual(users.slice(0, 20))
  })

  it('keeps a user identical when the population grows', () => {
    expect([...demoUsers({ ...opts, users: 10 })]).toEqual(users.slice(0, 10))
  })

  it('averages about ten events per user with a heavy tail', () => {
    expect(events.length / opts.users).toBeGreaterThan(7)
    expect(events.length / opts.users).toBeLessThan(14)
    const per = new Map<string, number>()
    for (const e of events) per.set(e.user_id, (per.get(e.user_id) ?? 0) + 1)
    const sorted = [...per.values()].sort((a, b) => b - a)
    const top10 = sorted.slice(0, opts.users / 10).reduce((s, n) => s + n, 0)
    expect(top10 / events.length).toBeGreaterThan(0.3)
    expect(per.size).toBeLessThan(opts.users) // some customers are inactive in the window
  })

  it('follows the funnel app_open > view_product > add_to_cart > purchase', () => {
    const count = (name: string) => events.filter((e) => e.event === name).length
    expect(count('app_open')).toBeGreaterThan(0)
    expect(count('view_product')).toBeGreaterThan(count('app_open'))
    expect(count('add_to_cart')).toBeLessThan(count('view_product'))
    expect(count('purchase')).toBeLessThan(count('add_to_cart'))
    expect(count('coupon_use')).toBeLessThan(count('purchase'))
    expect(count('share')).toBeGreaterThan(0)
  })

  it('puts every event inside the window, ordered per user, with unique event ids', () => {
    const from = Date.parse(now) - 90 * 86_400_000
    const ids = new Set<string>()
    let prev = { user: '', time: 0 }
    for (const e of events) {
      const t = Date.parse(String(e.time))
      expect(t).toBeGreaterThanOrEqual(from)
      expect(t).toBeLessThan(Date.parse(now))
      if (e.user_id === prev.user) expect(t).toBeGreaterThanOrEqual(prev.time)
      prev = { user: e.user_id, time: t }
      ids.add(String(e.event_id))
    }
    expect(ids.size).toBe(events.length)
  })

  it('skews attributes: ages 18-70 mostly young, most customers without membership', () => {
    const ages = users.map((u) => Number(u.properties?.age))
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(18)
    expect(Math.max(...ages)).toBeLessThanOrEqual(70)
    expect(ages.filter((a) => a < 40).length).toBeGreaterThan(ages.length / 2)
    const levels = users.map((u) => u.properties?.membership_level)
    const share = (l: string) => levels.filter((x) => x === l).length / levels.length
    expect(share('none')).toBeGreaterThan(share('silver'))
    expect(share('silver')).toBeGreaterThan(share('gold'))
    expect(share('gold')).toBeGreaterThan(share('platinum'))
    expect(new Set(users.map((u) => u.properties?.city)).size).toBe(12)
  })
})

describeEachDb('loadDemo', (kind) => {
  let db: TestDb
  const small = { users: 300, seed: 3, now }
  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
  })
  afterAll(async () => {
    await db.dispose()
  })

  it('stores the generated customers and events through ingestion, with typed schema', async () => {
    const r = await loadDemo(db, small)
    expect(r).toEqual({ users: 300, events: [...demoEvents(small)].length })
    const schema = describeSchema(await loadCatalogue(db))
    expect(schema.userAttributes).toEqual([
      { name: 'city', type: 'string' },
      { name: 'age', type: 'number' },
      { name: 'gender', type: 'string' },
      { name: 'membership_level', type: 'string' },
      { name: 'registration_date', type: 'date' },
    ])
    const purchase = schema.events.find((e) => e.name === 'purchase')
    expect(purchase?.properties).toEqual(
      expect.arrayContaining([
        { name: 'amount', type: 'number' },
        { name: 'channel', type: 'string' },
      ]),
    )
    expect(schema.events.map((e) => e.name).sort()).toEqual([
      'add_to_cart',
      'app_open',
      'coupon_use',
      'purchase',
      'share',
      'view_product',
    ])
  })

  it('stores nothing twice when loaded again', async () => {
    const r = await loadDemo(db, small)
    expect(r.events).toBe(0)
    const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')
    expect(n.rows[0]?.n).toBe(300)
  })
})
