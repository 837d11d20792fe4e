import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, tokens, until, type TestServer } from './helpers.ts'

const dayMs = 86_400_000

/** The live messages this test reads (docs/api.md#live-channel). */
interface LiveMsg {
  type: string
  backfill: { id: string; status: string; done: number }
  run: { id: string; status: string }
  items: Array<{ date: string }>
}

/** The app's live channel (it listens on a free port), subscribed to the label. */
async function openLive(s: TestServer, labelId: string): Promise<{ ws: WebSocket; messages: LiveMsg[] }> {
  if (!s.app.server.listening) await s.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = s.app.server.address()
  const ws = new WebSocket(
    `ws://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/api/live?token=${tokens.viewer}`,
  )
  const messages: LiveMsg[] = []
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as LiveMsg))
  await new Promise((r) => ws.once('open', r))
  ws.send(JSON.stringify({ subscribe: [`label:${labelId}`] }))
  await until(async () => messages.some((m) => m.type === 'subscribed'))
  return { ws, messages }
}

/** Thirty users, user i buying once a day over the last i days (so each past day differs); creates a number label counting purchases and waits for its first run. */
async function seed(s: TestServer, name: string, data = true): Promise<string> {
  const inject = (o: InjectOptions) => s.app.inject(o)
  if (data) {
    const users = Array.from({ length: 30 }, (_, i) => ({ user_id: `u${i}`, properties: {} }))
    const now = Date.now()
    const events = users.flatMap((u, i) =>
      Array.from({ length: i }, (_, k) => ({
        user_id: u.user_id,
        event: 'purchase',
        time: new Date(now - (k + 0.5) * dayMs).toISOString(),
        event_id: `${u.user_id}-${k}`,
        properties: { amount: 10 * (k + 1) },
      })),
    )
    for (const [url, rows] of [
      ['/api/data/users', users],
      ['/api/data/events', events],
    ] as const) {
      const r = await inject({
        method: 'POST',
        url,
        payload: ndjson([...rows]),
        headers: { ...auth('admin'), 'content-type': 'application/x-ndjson' },
      })
      expect(r.statusCode, r.body).toBe(200)
    }
  }
  const r = await inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: {
      name,
      displayName: name,
      dataType: 'number',
      labelType: 'static',
      rule: { method: 'metric', event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' } },
    },
  })
  expect(r.statusCode, r.body).toBe(201)
  const id = r.json().id as string
  await until(
    async () =>
      (await inject({ url: `/api/labels/${id}`, headers: auth('viewer') })).json().lastRun?.status === 'succeeded',
  )
  return id
}

describeEachDb('history buckets and backfill over HTTP', (kind) => {
  let s: TestServer
  let labelId = ''
  const inject = (o: InjectOptions) => s.app.inject(o)
  const json = async (o: InjectOptions) => (await inject({ headers: auth('viewer'), ...o })).json()

  beforeAll(async () => {
    s = await newServer(kind)
    labelId = await seed(s, 'buys_30d')
  })
  afterAll(async () => {
    await s?.close()
  })

  it('answers no buckets while values are exact, and lets an editor set them, re-counting the stored day', async () => {
    // 30 distinct counts (0…29): kept per exact value, as the distribution shows them.
    const b = await json({ url: '/api/labels/buys_30d/history/buckets' })
    expect(b.buckets).toBeNull()
    expect(b.otherDays).toEqual([])
    const exact = await json({ url: '/api/labels/buys_30d/history?value=29' })
    expect(exact.items).toMatchObject([{ value: 29, users: 1 }])
    const url = '/api/labels/buys_30d/history/buckets'
    expect(
      (await inject({ method: 'PUT', url, headers: auth('viewer'), payload: { boundaries: [10] } })).statusCode,
    ).toBe(403)
    const bad = await inject({ method: 'PUT', url, headers: auth('editor'), payload: { boundaries: [5, 1] } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error).toMatchObject({ path: '/boundaries/1', message: expect.stringMatching(/increasing/) })
    // A coarsening of the first buckets: the stored day is re-counted.
    const ok = await inject({ method: 'PUT', url, headers: auth('editor'), payload: { boundaries: [0, 9, 18, 27] } })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json()).toMatchObject({ buckets: { boundaries: [0, 9, 18, 27], source: 'operator' }, kept: [] })
    expect(ok.json().rebucketed).toHaveLength(1)
    const h = await json({ url: '/api/labels/buys_30d/history' })
    expect(h.items.map((i: { value: string }) => i.value).sort()).toEqual([
      '(-∞,0)',
      '[0,9)',
      '[18,27)',
      '[27,+∞)',
      '[9,18)',
    ])
  })

  it('refuses bad backfills with a clear 400', async () => {
    const post = (label: string, payload: unknown) =>
      inject({
        method: 'POST',
        url: `/api/labels/${label}/backfill`,
        headers: auth('editor'),
        payload: payload as object,
      })
    for (const days of [0, 91, 2.5, -3]) {
      const r = await post('buys_30d', { days })
      expect(r.statusCode, String(days)).toBe(400)
      expect(r.json().error.message).toMatch(/days must be a whole number from 1 to 90/)
    }
    expect((await post('buys_30d', { days: '30' })).statusCode).toBe(400)
    expect((await post('nope', { days: 3 })).statusCode).toBe(404)
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/labels/buys_30d/backfill',
          headers: auth('viewer'),
          payload: { days: 3 },
        })
      ).statusCode,
    ).toBe(403)
    const imp = await inject({
      method: 'POST',
      url: '/api/labels',
      headers: auth('editor'),
      payload: { name: 'vip', displayName: 'VIP', dataType: 'string', labelType: 'static', rule: { method: 'import' } },
    })
    expect(imp.statusCode).toBe(201)
    const r = await post('vip', { days: 3 })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.message).toMatch(/uploaded files: there is no past/)
  })

  it('backfills N days: 202 with an id, progress readable, one history day per past day', async () => {
    const r = await inject({
      method: 'POST',
      url: '/api/labels/buys_30d/backfill',
      headers: auth('editor'),
      payload: { days: 5 },
    })
    expect(r.statusCode, r.body).toBe(202)
    const { backfillId, backfill } = r.json()
    expect(backfill).toMatchObject({ id: backfillId, labelId, days: 5, done: 0, status: 'queued' })
    const done = await until(async () => {
      const b = await json({ url: `/api/backfills/${backfillId}` })
      return b.status === 'succeeded' || b.status === 'failed' ? b : null
    })
    expect(done).toMatchObject({ status: 'succeeded', done: 5, from: backfill.from, to: backfill.to })
    expect((await json({ url: '/api/labels/buys_30d/backfills' })).backfills.map((b: { id: string }) => b.id)).toEqual([
      backfillId,
    ])
    const h = await json({ url: '/api/labels/buys_30d/history' })
    const dates = [...new Set(h.items.map((i: { date: string }) => i.date))]
    expect(dates).toHaveLength(6)
    expect(dates[0]).toBe(backfill.from)
    // Every day in the operator's buckets; the label's runs are untouched (one run: its creation).
    expect(new Set(h.items.map((i: { value: string }) => i.value)).size).toBe(5)
    expect((await json({ url: '/api/labels/buys_30d/runs' })).runs).toHaveLength(1)
    expect((await json({ url: '/api/backfills/bf_nope' })).error.code).toBe('not_found')
  })

  it('queues behind the label’s run and pushes its progress, then the history, on the live channel', async () => {
    const { ws, messages } = await openLive(s, labelId)
    const run = await inject({
      method: 'POST',
      url: '/api/labels/buys_30d/calculate',
      headers: auth('editor'),
      payload: {},
    })
    expect(run.statusCode).toBe(202)
    const r = await inject({
      method: 'POST',
      url: '/api/labels/buys_30d/backfill',
      headers: auth('editor'),
      payload: { days: 3 },
    })
    expect(r.statusCode, r.body).toBe(202)
    const id = r.json().backfillId
    await until(async () => {
      const i = messages.findIndex((m) => m.type === 'backfill' && m.backfill.status === 'succeeded')
      return i >= 0 && messages.slice(i).some((m) => m.type === 'history')
    })
    ws.close()
    const mine = messages.filter((m) => m.type === 'backfill' && m.backfill.id === id).map((m) => m.backfill)
    expect(mine.map((b) => `${b.status}:${b.done}`)).toEqual([
      'queued:0',
      'running:0',
      'running:1',
      'running:2',
      'running:3',
      'succeeded:3',
    ])
    // The run triggered first ends before the backfill's first day starts.
    const at = (pred: (m: LiveMsg) => boolean) => messages.findIndex(pred)
    const runDone = at((m) => m.type === 'run' && m.run.id === run.json().runId && m.run.status === 'succeeded')
    expect(runDone).toBeGreaterThan(-1)
    expect(runDone).toBeLessThan(at((m) => m.type === 'backfill' && m.backfill.status === 'running'))
    const history = messages.filter((m) => m.type === 'history').at(-1)
    expect(new Set(history?.items.map((i: { date: string }) => i.date)).size).toBe(6)
  })
})

describeEachDb('backfills in the run queue, and cancelled', (kind) => {
  let s: TestServer
  const ids: Record<string, string> = {}
  /** Calculations executing on the engine now, and the most at once (runs and backfill days). */
  const calc = { now: 0, most: 0, log: [] as string[] }
  /** While set, the next run waits for it before it calculates. */
  let gate: Promise<void> | null = null
  const inject = (o: InjectOptions) => s.app.inject(o)
  const json = async (o: InjectOptions) => (await inject({ headers: auth('viewer'), ...o })).json()
  /** An editor's POST, expecting 202. */
  const accepted = async (url: string, payload: object = {}) => {
    const r = await inject({ method: 'POST', url, headers: auth('editor'), payload })
    expect(r.statusCode, r.body).toBe(202)
    return r.json()
  }
  /** Holds the next run at the gate; returns its opening. */
  const hold = (): (() => void) => {
    let open: () => void = () => {}
    gate = new Promise<void>((r) => (open = r))
    return open
  }

  beforeAll(async () => {
    s = await newServer(kind) // concurrency 1
    ids.a = await seed(s, 'buys_a')
    ids.b = await seed(s, 'buys_b', false)
    ids.c = await seed(s, 'buys_c', false)
    const e = s.engine
    const count =
      <A extends unknown[], R>(fn: (...a: A) => Promise<R>, what: (...a: A) => string) =>
      async (...a: A): Promise<R> => {
        const held = what(...a).startsWith('run') ? gate : null
        gate = held ? null : gate
        calc.log.push(what(...a))
        calc.most = Math.max(calc.most, ++calc.now)
        try {
          await held
          return await fn(...a)
        } finally {
          calc.now--
        }
      }
    e.executeRunWithResults = count(e.executeRunWithResults.bind(e), (id) => `run ${id}`)
    e.executeRun = count(e.executeRun.bind(e), (id) => `run ${id}`)
    e.backfillDay = count(e.backfillDay.bind(e), (i) => `day ${i.date}`)
  })
  afterAll(async () => {
    await s?.close()
  })

  it('takes a slot of the global concurrency: with concurrency 1 a run and a backfill day never overlap', async () => {
    const open = hold()
    const run = await accepted('/api/labels/buys_b/calculate')
    // buys_b's run executes (held at the gate); buys_a has no run: only the slot keeps its backfill waiting.
    await until(async () => (await json({ url: `/api/runs/${run.runId}` })).status === 'running')
    const r = await accepted('/api/labels/buys_a/backfill', { days: 2 })
    const later = await accepted('/api/labels/buys_c/calculate')
    expect((await json({ url: `/api/backfills/${r.backfillId}` })).status).toBe('queued')
    open()
    await until(async () => (await json({ url: `/api/backfills/${r.backfillId}` })).status === 'succeeded')
    await s.app.runQueue.idle()
    expect(calc.most).toBe(1)
    // First come, first served: the backfill's first day before the run triggered after it (which goes before the next day).
    const days = calc.log.flatMap((x, i) => (x.startsWith('day') ? [i] : []))
    expect(days).toHaveLength(2)
    expect(days[0]).toBeLessThan(calc.log.indexOf(`run ${later.runId}`))
  })

  it('DELETE cancels a queued backfill: no day is written, the state is kept and pushed live', async () => {
    const { ws, messages } = await openLive(s, ids.a!)
    const before = (await json({ url: '/api/labels/buys_a/history' })).items.length
    const open = hold()
    const run = await accepted('/api/labels/buys_a/calculate')
    const r = await accepted('/api/labels/buys_a/backfill', { days: 3 })
    const id = r.backfillId as string
    const del = (role: 'viewer' | 'editor', bid = id) =>
      inject({ method: 'DELETE', url: `/api/backfills/${bid}`, headers: auth(role) })
    expect((await del('viewer')).statusCode).toBe(403)
    const c = await del('editor')
    expect(c.statusCode, c.body).toBe(200)
    expect(c.json()).toMatchObject({ id, status: 'cancelled', done: 0, finishedAt: expect.any(String) })
    const again = await del('editor')
    expect(again.statusCode).toBe(409)
    expect(again.json().error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/already cancelled/) })
    expect((await del('editor', 'bf_nope')).json().error).toMatchObject({
      code: 'not_found',
      path: '/params/backfillId',
    })
    open()
    await until(async () => (await json({ url: `/api/runs/${run.runId}` })).status === 'succeeded')
    await s.app.runQueue.idle()
    expect(await json({ url: `/api/backfills/${id}` })).toMatchObject({ status: 'cancelled', done: 0 })
    const list = (await json({ url: '/api/labels/buys_a/backfills' })).backfills
    expect(list.map((b: { id: string; status: string }) => `${b.id}:${b.status}`)[0]).toBe(`${id}:cancelled`)
    expect(list).toHaveLength(2) // newest first, the earlier one after it
    expect((await json({ url: '/api/labels/buys_a/history' })).items.length).toBe(before)
    ws.close()
    const mine = messages.filter((m) => m.type === 'backfill' && m.backfill.id === id).map((m) => m.backfill.status)
    expect(mine).toEqual(['queued', 'cancelled'])
    // A new backfill of the label may start once it is cancelled.
    const next = await accepted('/api/labels/buys_a/backfill', { days: 1 })
    await until(async () => (await json({ url: `/api/backfills/${next.backfillId}` })).status === 'succeeded')
  })
})
