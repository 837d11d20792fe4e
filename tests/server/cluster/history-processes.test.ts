import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { tokens } from '../helpers.ts'
import { api, buyCount, buyEvents, poll } from '../../faults/harness.ts'
import { startNode, type NodeProcess } from './processes.ts'
import { newSchemaUrl, pgUrl } from './schema.ts'

/**
 * History changed outside a run (buckets set, a backfill) on one process reaches the in-memory
 * reads of the others: two `npm start` processes on one PostgreSQL schema.
 */
describe.skipIf(!pgUrl)('history buckets and backfill across processes', () => {
  let schema: Awaited<ReturnType<typeof newSchemaUrl>>
  const nodes: NodeProcess[] = []
  const sockets: WebSocket[] = []
  let labelId = ''

  beforeAll(async () => {
    schema = await newSchemaUrl()
    nodes.push(...(await Promise.all(['h1', 'h2'].map((n) => startNode(n, schema.url)))))
    const ing = await api(nodes[0]!.http, 'admin', '/api/data/events', {
      body: buyEvents('u', 300),
      type: 'application/x-ndjson',
    })
    expect(ing.status, ing.body).toBe(200)
    const made = await api(nodes[0]!.http, 'editor', '/api/labels', {
      json: { name: 'buys', displayName: 'Buys', dataType: 'number', labelType: 'static', rule: buyCount },
    })
    expect(made.status, made.body).toBe(201)
    labelId = made.json().id
    await poll(
      async () =>
        (await api(nodes[1]!.http, 'viewer', `/api/labels/${labelId}/runs`))
          .json()
          .runs.find((r: { status: string }) => r.status === 'succeeded'),
      60_000,
      'the creation run',
    )
  }, 300_000)

  afterAll(async () => {
    for (const ws of sockets) ws.close()
    await Promise.all(nodes.map((n) => n.stop().catch(() => {})))
    await schema?.dispose()
  }, 60_000)

  const history = async (n: NodeProcess) =>
    (await api(n.http, 'viewer', `/api/labels/${labelId}/history`)).json().items as Array<{
      date: string
      value: string
    }>

  it('buckets set on one process show in the history another process answers', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    expect((await history(p2)).length).toBeGreaterThan(0)
    const put = await api(p1.http, 'editor', `/api/labels/${labelId}/history/buckets`, {
      method: 'PUT',
      json: { boundaries: [0, 5] },
    })
    expect(put.status, put.body).toBe(200)
    await poll(
      async () => (await history(p2)).map((i) => i.value).join(' ') === '(-∞,0) [0,5) [5,+∞)',
      30_000,
      'the new buckets on the other process',
    )
  })

  it('days a backfill wrote on one process show in the history another process answers', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    const r = await api(p1.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 2 } })
    expect(r.status, r.body).toBe(202)
    await poll(
      async () => new Set((await history(p2)).map((i) => i.date)).size === 3,
      60_000,
      'the backfilled days on the other process',
    )
  })

  type Backfill = { id: string; status: string; done: number; days: number; from: string }
  const backfill = async (n: NodeProcess, id: string) =>
    (await api(n.http, 'viewer', `/api/backfills/${id}`)).json() as Backfill
  const ended = (n: NodeProcess, id: string, what: string) =>
    poll(
      async () => {
        const b = await backfill(n, id)
        return b.status === 'queued' || b.status === 'running' ? null : b
      },
      120_000,
      what,
    )

  it('a backfill started on one process is read, listed and followed live on another', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    const heard: Backfill[] = []
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${p2.http.replace('http', 'ws')}/api/live?token=${tokens.viewer}`)
      sockets.push(ws)
      ws.on('error', reject)
      ws.on('message', (d) => {
        const m = JSON.parse(String(d))
        if (m.type === 'subscribed') resolve()
        else if (m.type === 'backfill') heard.push(m.backfill)
      })
      ws.on('open', () => ws.send(JSON.stringify({ subscribe: [`label:${labelId}`] })))
    })
    const r = await api(p1.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 4 } })
    expect(r.status, r.body).toBe(202)
    const id = r.json().backfillId as string
    const there = await api(p2.http, 'viewer', `/api/backfills/${id}`)
    expect(there.status, there.body).toBe(200)
    expect(there.json()).toMatchObject({ id, labelId, days: 4 })
    expect(await ended(p2, id, 'the end of the backfill on p2')).toMatchObject({ status: 'succeeded', done: 4 })
    await poll(async () => heard.some((b) => b.id === id && b.status === 'succeeded'), 30_000, 'its end pushed on p2')
    expect(heard.filter((b) => b.id === id).map((b) => `${b.status}:${b.done}`)).toEqual([
      'queued:0',
      'running:0',
      'running:1',
      'running:2',
      'running:3',
      'running:4',
      'succeeded:4',
    ])
    const list = (await api(p2.http, 'viewer', `/api/labels/${labelId}/backfills`)).json().backfills as Backfill[]
    expect(list[0]?.id).toBe(id)
  })

  it('a backfill executing on one process is cancelled from another: it stops there, its done days stay', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    const r = await api(p1.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 60 } })
    expect(r.status, r.body).toBe(202)
    const id = r.json().backfillId as string
    await poll(async () => (await backfill(p2, id)).done >= 1, 60_000, 'a first day')
    const c = await api(p2.http, 'editor', `/api/backfills/${id}`, { method: 'DELETE' })
    expect(c.status, c.body).toBe(200)
    expect(c.json()).toMatchObject({ id, status: 'cancelled' })
    const done = c.json().done as number
    expect(done).toBeLessThan(60)
    // p1 stops: a new backfill of the label runs there (after the cancelled one's day in progress, rolled back).
    const next = await api(p1.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 1 } })
    expect(next.status, next.body).toBe(202)
    expect(await ended(p1, next.json().backfillId, 'the next backfill')).toMatchObject({ status: 'succeeded' })
    for (const n of [p1, p2]) expect(await backfill(n, id)).toMatchObject({ status: 'cancelled', done })
  })

  it('a backfill its process left (kill -9) is taken over by another and ends with every day written', async () => {
    const [p1, p2] = nodes as [NodeProcess, NodeProcess]
    // The longest backfill (90 days): 30 days on a quiet machine were all written before the kill landed
    // (CI, 2026-12-01), leaving nothing to take over.
    const r = await api(p1.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 90 } })
    expect(r.status, r.body).toBe(202)
    const id = r.json().backfillId as string
    // Past the days earlier tests' backfills wrote, so p1 dies having written days p2 never heard of.
    await poll(async () => (await backfill(p2, id)).done >= 10, 60_000, 'ten days')
    await p1.kill9()
    expect(
      (await backfill(p2, id)).done,
      'days written when p1 was killed (all of them: nothing to take over)',
    ).toBeLessThan(90)
    const end = await ended(p2, id, 'the backfill taken over by p2')
    expect(end).toMatchObject({ status: 'succeeded', done: 90 })
    const dates = new Set((await history(p2)).map((i) => i.date))
    const from = Date.parse(`${end.from}T00:00:00Z`)
    const range = Array.from({ length: 90 }, (_, k) => new Date(from + k * 86_400_000).toISOString().slice(0, 10))
    expect(range.filter((d) => !dates.has(d))).toEqual([])
    expect(nodes[1]!.output()).toMatch(/taking over a backfill/)
  })
})
