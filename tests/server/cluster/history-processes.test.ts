import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
})
