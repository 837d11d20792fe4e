import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { describeEachDb } from '../helpers/db.ts'
import { auth, createLabel, ndjson, newServer, tokens, until, type TestServer } from './helpers.ts'

/**
 * SPEC §7 gives distribution items and history items the same `value`. History answered every
 * value as text ("true", "2") where the distribution has true and 2; a client comparing the two,
 * or looking for `value === true`, found nothing (second black-box audit, 2026-12-06).
 */
describeEachDb('history values typed as the distribution', (kind) => {
  let s: TestServer
  const get = async (url: string) => (await s.app.inject({ url, headers: auth('viewer') })).json()
  const make = (name: string, dataType: string, rule: object) => createLabel(s.app, { name, dataType, rule })

  beforeAll(async () => {
    s = await newServer(kind)
    const nd = { ...auth('admin'), 'content-type': 'application/x-ndjson' }
    const users = ['u1', 'u2', 'u3'].map((u, i) => ({ user_id: u, properties: { vip: i === 0, city: `c${i}` } }))
    const events = [
      { user_id: 'u1', event: 'buy', time: '2026-01-01T00:00:00Z' },
      { user_id: 'u1', event: 'buy', time: '2026-01-02T00:00:00Z' },
      { user_id: 'u2', event: 'buy', time: '2026-01-02T00:00:00Z' },
    ]
    for (const [url, rows] of [
      ['/api/data/users', users],
      ['/api/data/events', events],
    ] as const)
      expect((await s.app.inject({ method: 'POST', url, headers: nd, payload: ndjson([...rows]) })).statusCode).toBe(
        200,
      )
    await make('buys', 'number', { method: 'metric', event: 'buy', measure: { agg: 'count' } })
    await make('vip', 'boolean', {
      method: 'custom',
      values: [{ value: true, when: { attribute: 'vip', op: 'eq', value: true } }],
      otherwise: false,
    })
  })
  afterAll(async () => {
    await s?.close()
  })

  it('answers numbers and booleans as the distribution does, and filters them by their text', async () => {
    for (const name of ['buys', 'vip']) {
      const d = await get(`/api/labels/${name}/distribution?sort=value&order=asc`)
      const h = await get(`/api/labels/${name}/history`)
      expect(h.items.map((i: { value: unknown; users: number }) => [i.value, i.users])).toEqual(
        d.items.map((i: { value: unknown; users: number }) => [i.value, i.users]),
      )
    }
    expect((await get('/api/labels/buys/history')).items.map((i: { value: unknown }) => i.value)).toEqual([0, 1, 2])
    expect((await get('/api/labels/vip/history?value=true')).items).toMatchObject([{ value: true, users: 1 }])
    expect((await get('/api/labels/buys/history?value=2')).items).toMatchObject([{ value: 2, users: 1 }])
    // CSV stays text.
    const csv = await s.app.inject({ url: '/api/labels/vip/history?format=csv', headers: auth('viewer') })
    expect(csv.body).toContain(',true,1,')
  })

  it('pushes the same typed values on the live channel', async () => {
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    const addr = s.app.server.address()
    const ws = new WebSocket(
      `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/live?token=${tokens.viewer}`,
    )
    const messages: Array<Record<string, unknown>> = []
    ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>))
    await new Promise((r) => ws.once('open', r))
    ws.send(JSON.stringify({ subscribe: ['label:vip'] }))
    await until(async () => messages.some((m) => m.type === 'subscribed'))
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/labels/vip/calculate',
      headers: auth('editor'),
      payload: {},
    })
    expect(r.statusCode).toBe(202)
    const h = await until(async () => messages.find((m) => m.type === 'history'))
    expect((h.items as Array<{ value: unknown }>).map((i) => i.value).sort()).toEqual([false, true])
    ws.close()
  })

  it('answers every day in the intervals once a number label passes 50 distinct values, from memory too', async () => {
    const nd = { ...auth('admin'), 'content-type': 'application/x-ndjson' }
    const calc = async (asOf: string) => {
      const r = await s.app.inject({
        method: 'POST',
        url: '/api/labels/spend/calculate',
        headers: auth('editor'),
        payload: { asOf },
      })
      expect(r.statusCode, r.body).toBe(202)
      const id = r.json().runId
      await until(async () => (await get(`/api/runs/${id}`)).status === 'succeeded')
    }
    const users = Array.from({ length: 60 }, (_, i) => ({ user_id: `s${i}`, properties: {} }))
    // Day 1: three distinct amounts; day 2: sixty.
    const day1 = users.map((u, i) => ({
      user_id: u.user_id,
      event: 'pay',
      time: '2026-02-01T00:00:00Z',
      properties: { amount: (i % 3) * 10 },
    }))
    const day2 = users.map((u, i) => ({
      user_id: u.user_id,
      event: 'pay',
      time: '2026-02-02T00:00:00Z',
      properties: { amount: i + 1 },
    }))
    const send = async (url: string, rows: unknown[]) =>
      expect((await s.app.inject({ method: 'POST', url, headers: nd, payload: ndjson(rows) })).statusCode).toBe(200)
    await send('/api/data/users', users)
    await send('/api/data/events', day1)
    await createLabel(s.app, {
      name: 'spend',
      displayName: 'Spend',
      dataType: 'number',
      rule: { method: 'metric', event: 'pay', measure: { agg: 'sum', property: 'amount' } },
    })
    await calc('2026-02-01T12:00:00Z')
    const exact = (await get('/api/labels/spend/history?from=2026-02-01&to=2026-02-01')).items
    expect(exact.map((i: { value: unknown }) => i.value)).toEqual([0, 10, 20])
    await send('/api/data/events', day2)
    await calc('2026-02-02T12:00:00Z')
    const h = (await get('/api/labels/spend/history?from=2026-02-01&to=2026-02-02')).items as Array<{
      date: string
      value: unknown
      users: number
    }>
    const keys = (date: string) => h.filter((i) => i.date === date).map((i) => i.value)
    expect(keys('2026-02-01')).toEqual(keys('2026-02-02'))
    expect(keys('2026-02-01').every((v) => typeof v === 'string' && /^[[(]/.test(v))).toBe(true)
    expect(h.filter((i) => i.date === '2026-02-01').reduce((n, i) => n + i.users, 0)).toBeGreaterThanOrEqual(60)
  })
})
