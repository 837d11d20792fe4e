import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

const DAY = 86_400_000
/** A user_id as long as ingestion allows, with characters percent-encoded in six. */
const longId = `${'l'.repeat(200)}${'ü'.repeat(312)}`

describeEachDb('GET /api/labels/:label/explain/:userId', (kind) => {
  let s: TestServer
  const inject = (opts: InjectOptions) => s.app.inject(opts)
  const now = Date.now()
  const get = (label: string, userId: string, role: 'viewer' | 'editor' | 'admin' = 'viewer') =>
    inject({ url: `/api/labels/${label}/explain/${encodeURIComponent(userId)}`, headers: auth(role) })

  const ingest = async (what: 'users' | 'events', rows: unknown[]) => {
    const r = await inject({
      method: 'POST',
      url: `/api/data/${what}`,
      payload: ndjson(rows),
      headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
    })
    expect(r.statusCode).toBe(200)
  }

  const create = async (payload: object) => {
    const r = await inject({ method: 'POST', url: '/api/labels', payload, headers: auth('editor') })
    expect(r.statusCode).toBe(201)
    const id = r.json().id as string
    await until(async () => {
      const l = (await inject({ url: `/api/labels/${id}`, headers: auth('viewer') })).json()
      return l.lastRun?.status === 'succeeded'
    })
    return id
  }

  beforeAll(async () => {
    s = await newServer(kind)
    await ingest('users', [
      { user_id: 'ann', properties: { city: 'Paris', age: 41 } },
      { user_id: 'bob', properties: { city: 'Rome', age: 22 } },
      { user_id: 'cy/z ü', properties: { city: 'Oslo' } },
      { user_id: longId, properties: { city: 'Rome' } },
    ])
    const purchases = [
      ...[1, 2, 3, 4].map((d) => ({ user_id: 'ann', d, amount: 10 * d, product: d % 2 ? 'tea' : 'cake' })),
      { user_id: 'ann', d: 45, amount: 500, product: 'tv' },
      { user_id: 'bob', d: 2, amount: 5, product: 'tea' },
    ]
    await ingest(
      'events',
      purchases.map((p, i) => ({
        user_id: p.user_id,
        event: 'purchase',
        time: new Date(now - p.d * DAY).toISOString(),
        event_id: `p${i}`,
        properties: { amount: p.amount, product: p.product },
      })),
    )
    await create({
      name: 'buyer_tier',
      displayName: 'Buyer tier',
      dataType: 'string',
      labelType: 'static',
      schedule: { kind: 'once' },
      rule: {
        method: 'custom',
        values: [
          {
            value: 'loyal',
            when: {
              all: [
                { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 3 },
                { not: { attribute: 'city', op: 'eq', value: 'Rome' } },
              ],
            },
          },
          { value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } },
        ],
        otherwise: 'none',
      },
    })
    await create({
      name: 'spend_30d',
      displayName: 'Spend 30 days',
      dataType: 'number',
      labelType: 'static',
      schedule: { kind: 'once' },
      rule: {
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 30 },
        measure: { agg: 'sum', property: 'amount' },
      },
    })
  }, 240_000) // minutes when the machine is loaded
  afterAll(() => s?.close())

  it('explains a custom value: the matched layer and each condition with its measured value (viewer)', async () => {
    const r = await get('buyer_tier', 'ann')
    expect(r.statusCode).toBe(200)
    const x = r.json()
    expect(x).toMatchObject({
      userId: 'ann',
      method: 'custom',
      dataType: 'string',
      stored: 'loyal',
      computed: 'loyal',
      agrees: true,
      definitionChanged: false,
      notes: [],
      summary: 'Layer 1 matched: "loyal"',
    })
    const first = x.reason.layers[0].condition
    expect(first.kind).toBe('all')
    expect(first.items.map((c: { text: string }) => c.text)).toEqual([
      'count of purchase in the last 30 days = 4 ≥ 3 ✓',
      'not: the condition below does not hold ✓',
    ])
    expect(first.items[1].item.text).toBe('city is "Paris" — = "Rome" ✗')
    expect(first.items[0].events).toMatchObject({ event: 'purchase', count: 4 })
    // The same value the profile lookup gives.
    const profile = (await inject({ url: '/api/users/ann/labels', headers: auth('viewer') })).json()
    expect(profile.labels.find((l: { name: string }) => l.name === 'buyer_tier').value).toBe(x.stored)
  })

  it('explains a metric with the events behind it and their top values', async () => {
    const x = (await get('spend_30d', 'ann')).json()
    expect(x.stored).toBe(100)
    expect(x.reason).toMatchObject({ method: 'metric', measure: 'sum(amount)', measured: 100 })
    expect(x.reason.events.count).toBe(4)
    expect(x.reason.events.first).toBe(new Date(now - 4 * DAY).toISOString().slice(0, 23) + 'Z')
    expect(x.reason.top).toMatchObject({ property: 'amount', distinct: 4 })
    // A customer without purchases: the additive measure is 0.
    const c = (await get('spend_30d', 'cy/z ü')).json()
    expect(c).toMatchObject({ stored: 0, computed: 0, agrees: true })
    expect(c.reason.events.count).toBe(0)
  })

  it('answers 404 for an unknown customer or label, 401 without a token, 414 for an overlong user id', async () => {
    const u = await get('buyer_tier', 'nobody')
    expect(u.statusCode).toBe(404)
    expect(u.json().error).toMatchObject({ code: 'not_found', path: '/params/userId' })
    expect(u.json().error.message).toMatch(/nobody/)
    const l = await get('no_such_label', 'ann')
    expect(l.statusCode).toBe(404)
    expect(l.json().error).toMatchObject({ code: 'not_found', path: '/params/label' })
    expect((await inject({ url: '/api/labels/buyer_tier/explain/ann' })).statusCode).toBe(401)
    // Every user_id ingestion accepts (up to 512 characters, here 2 000 percent-encoded) can be looked up.
    const long = await get('buyer_tier', longId)
    expect(long.statusCode).toBe(200)
    expect(long.json()).toMatchObject({ userId: longId, stored: 'none', agrees: true })
    const labels = await inject({ url: `/api/users/${encodeURIComponent(longId)}/labels`, headers: auth('viewer') })
    expect(labels.statusCode).toBe(200)
    expect(labels.json().userId).toBe(longId)
    const tooLong = await get('buyer_tier', 'x'.repeat(513))
    expect(tooLong.statusCode).toBe(400)
    expect(tooLong.json().error).toMatchObject({ code: 'bad_request', path: '/params/userId' })
  })

  it('says when the stored run is older than the data', async () => {
    await ingest('events', [
      { user_id: 'bob', event: 'purchase', time: new Date(now - DAY).toISOString(), event_id: 'late1', properties: {} },
      { user_id: 'bob', event: 'purchase', time: new Date(now - DAY).toISOString(), event_id: 'late2', properties: {} },
      { user_id: 'bob', event: 'purchase', time: new Date(now + DAY).toISOString(), event_id: 'next', properties: {} },
    ])
    const x = (await get('spend_30d', 'bob')).json()
    // Bob is in Rome: still "buyer" on buyer_tier; his spend is unchanged (no amounts), so check the count label.
    expect(x.agrees).toBe(true)
    expect(x.newerEvents).toEqual([{ event: 'purchase', count: 1, last: new Date(now + DAY).toISOString() }])
    expect(x.notes.join(' ')).toMatch(/1 purchase event .* not counted/)
    const t = (await get('buyer_tier', 'cy/z ü')).json()
    expect(t).toMatchObject({ stored: 'none', computed: 'none', agrees: true })
    await ingest('events', [
      { user_id: 'cy/z ü', event: 'purchase', time: new Date(now - DAY).toISOString(), event_id: 'c1', properties: {} },
    ])
    const after = (await get('buyer_tier', 'cy/z ü')).json()
    expect(after).toMatchObject({ stored: 'none', computed: 'buyer', agrees: false })
    expect(after.notes[0]).toMatch(/older than this customer's data/)
  })
})
