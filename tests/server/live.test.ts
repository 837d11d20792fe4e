import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { auth, ndjson, newServer, tokens, until, type TestServer } from './helpers.ts'

let s: TestServer
let base = ''

beforeAll(async () => {
  s = await newServer()
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = s.app.server.address()
  base = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
  const users = Array.from({ length: 40 }, (_, i) => ({
    user_id: `u${i}`,
    properties: { tier: i % 4 === 0 ? 'gold' : 'basic' },
  }))
  await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson(users),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
})
afterAll(async () => {
  await s?.close()
})

/** A connected live socket that records every message. */
async function connect(token: string): Promise<{
  ws: WebSocket
  messages: Array<Record<string, unknown>>
  next(pred: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
}> {
  const ws = new WebSocket(`ws://${base}/api/live?token=${token}`)
  const messages: Array<Record<string, unknown>> = []
  const waiters: Array<{
    pred: (m: Record<string, unknown>) => boolean
    resolve: (m: Record<string, unknown>) => void
  }> = []
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Record<string, unknown>
    messages.push(m)
    for (const w of [...waiters]) if (w.pred(m)) waiters.splice(waiters.indexOf(w), 1), w.resolve(m)
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return {
    ws,
    messages,
    next: (pred, ms = 20_000) => {
      const seen = messages.find(pred)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve })
        setTimeout(
          () => reject(new Error(`no matching live message; got ${JSON.stringify(messages.map((m) => m.type))}`)),
          ms,
        ).unref()
      })
    },
  }
}

it('refuses the live channel without a valid token at upgrade', async () => {
  const ws = new WebSocket(`ws://${base}/api/live?token=wrong-token-123`)
  const status = await new Promise<number>((resolve) =>
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
  )
  expect(status).toBe(401)
})

it('answers bad messages with an error and stays open', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send('{not json')
  expect(await c.next((m) => m.type === 'error')).toMatchObject({ type: 'error' })
  c.ws.send(JSON.stringify({ subscribe: ['bogus'] }))
  await c.next((m) => m.type === 'error' && String(m.message).includes('bogus'))
  c.ws.send(JSON.stringify({ subscribe: ['runs:*'] }))
  expect(await c.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', topics: ['runs:*'] })
  c.ws.close()
})

it('pushes run status changes, then distribution and history when a run succeeds', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: ['label:*'] }))
  await c.next((m) => m.type === 'subscribed')
  const created = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: {
      name: 'tier',
      displayName: 'Tier',
      dataType: 'string',
      labelType: 'static',
      rule: { method: 'custom', values: [{ value: 'gold', when: { attribute: 'tier', op: 'eq', value: 'gold' } }] },
    },
  })
  const labelId = created.json().id as string
  const { runId } = (
    await s.app.inject({ method: 'POST', url: `/api/labels/${labelId}/calculate`, headers: auth('editor') })
  ).json() as { runId: string }
  const ofRun = (status: string) => (m: Record<string, unknown>) =>
    m.type === 'run' &&
    (m.run as { id: string; status: string }).id === runId &&
    (m.run as { status: string }).status === status
  await c.next(ofRun('queued'))
  await c.next(ofRun('running'))
  const done = await c.next(ofRun('succeeded'))
  expect(done.run).toMatchObject({ labelId, trigger: 'manual', coveredUsers: 10 })
  const dist = await c.next((m) => m.type === 'distribution' && m.labelId === labelId && m.runId === runId)
  expect(dist).toMatchObject({ totalUsers: 40, coveredUsers: 10, items: [{ value: 'gold', users: 10 }] })
  const hist = await c.next((m) => m.type === 'history' && m.labelId === labelId)
  expect((hist.items as unknown[]).length).toBeGreaterThan(0)
  c.ws.close()
})

it('only sends a label topic its own label', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: ['label:someone-else'] }))
  await c.next((m) => m.type === 'subscribed')
  await s.app.inject({ method: 'POST', url: '/api/labels/tier/calculate', headers: auth('editor') })
  await s.app.runQueue.idle()
  await new Promise((r) => setTimeout(r, 100))
  expect(c.messages.filter((m) => m.type !== 'subscribed')).toEqual([])
  c.ws.close()
})

it('accepts a label name in a label topic, as the HTTP routes accept it for :label', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: ['label:tier'] }))
  await c.next((m) => m.type === 'subscribed')
  const { runId } = (
    await s.app.inject({ method: 'POST', url: '/api/labels/tier/calculate', headers: auth('editor') })
  ).json() as { runId: string }
  const done = await c.next(
    (m) =>
      m.type === 'run' &&
      (m.run as { id: string; status: string }).id === runId &&
      (m.run as { status: string }).status === 'succeeded',
  )
  expect(done.run).toMatchObject({ trigger: 'manual', coveredUsers: 10 })
  c.ws.close()
})

it('audits a refused token on the collaboration endpoint like one on the API', async () => {
  const ws = new WebSocket(`ws://${base}/collab/main?token=not-a-valid-token-1`)
  await new Promise<void>((resolve) => {
    ws.on('close', () => resolve())
    ws.on('error', () => resolve())
  })
  await until(async () => {
    const r = await s.app.inject({ url: '/api/audit', headers: auth('admin') })
    return (r.json().entries as Array<{ action: string; target: string }>).some(
      (e) => e.action === 'auth.failed' && e.target === '/collab',
    )
  })
})

it('closes a subscriber that does not read (4508) instead of buffering pushes without bound', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: ['label:*'] }))
  await c.next((m) => m.type === 'subscribed')
  const closed = new Promise<number>((resolve) => c.ws.on('close', (code) => resolve(code)))
  const raw = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
  raw.pause() // a reader that stops reading: the server's send buffer grows
  const before = s.app.live.size
  const items = Array.from({ length: 2000 }, (_, i) => ({ value: `v${i}-${'x'.repeat(100)}`, users: i, proportion: 0 }))
  let pushes = 0
  while (s.app.live.size === before && pushes < 2000) {
    s.app.live.publishDistribution({
      labelId: 'l_slow',
      runId: 'r',
      asOf: null,
      totalUsers: 0,
      coveredUsers: 0,
      items,
    } as never)
    pushes++
    await new Promise((r) => setImmediate(r))
  }
  expect(s.app.live.size).toBe(before - 1) // dropped by the hub long before 2000 pushes (~470 MB)
  expect(pushes).toBeLessThan(2000)
  raw.resume()
  expect(await closed).toBe(4508)
})

it("pushes an import run's every status change, queued, running, then its end, like a calculation's", async () => {
  // SPEC §9: `{"type":"run",run}` on every run status change. An import pushed only its end.
  const made = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: {
      name: 'imported_tier',
      displayName: 'Tier',
      dataType: 'string',
      labelType: 'static',
      rule: { method: 'import' },
    },
  })
  expect(made.statusCode, made.body).toBe(201)
  const id = made.json().id as string
  await s.app.runQueue.idle()
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: [`label:${id}`] }))
  await c.next((m) => m.type === 'subscribed')
  const runStatuses = () =>
    c.messages.filter((m) => m.type === 'run').map((m) => m.run as { id: string; status: string; trigger: string })
  for (const [csv, end] of [
    ['user_id,value\nu1,vip\nu2,vip\n', 'succeeded'],
    ['user_id,value\nnobody,vip\n', 'failed'],
  ] as const) {
    const before = runStatuses().length
    const r = await s.app.inject({
      method: 'POST',
      url: `/api/labels/${id}/import`,
      headers: { ...auth('editor'), 'content-type': 'text/csv' },
      payload: csv,
    })
    const runId = (r.json().runId ?? r.json().error?.details?.runId) as string
    expect(runId, r.body).toBeTruthy()
    await c.next(
      (m) =>
        m.type === 'run' &&
        (m.run as { id: string; status: string }).id === runId &&
        (m.run as { status: string }).status === end,
    )
    const mine = runStatuses()
      .slice(before)
      .filter((x) => x.id === runId)
    expect(mine.map((x) => x.status)).toEqual(['queued', 'running', end])
    expect(mine.every((x) => x.trigger === 'import')).toBe(true)
    expect((await s.app.inject({ url: `/api/runs/${runId}`, headers: auth('viewer') })).json().status).toBe(end)
  }
  c.ws.close()
})

it('a subscription by name follows the label that has the name, one created after it included', async () => {
  const c = await connect(tokens.viewer)
  c.ws.send(JSON.stringify({ subscribe: ['label:made_later'] }))
  await c.next((m) => m.type === 'subscribed')
  const made = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: {
      name: 'made_later',
      displayName: 'Made later',
      dataType: 'string',
      labelType: 'static',
      rule: { method: 'custom', values: [{ value: 'gold', when: { attribute: 'tier', op: 'eq', value: 'gold' } }] },
    },
  })
  expect(made.statusCode, made.body).toBe(201)
  const id = made.json().id as string
  const run = await c.next((m) => m.type === 'run' && (m.run as { labelId: string }).labelId === id)
  expect(run.run).toMatchObject({ labelId: id, trigger: 'create' })
  await c.next((m) => m.type === 'distribution' && m.labelId === id)
  c.ws.close()
})
