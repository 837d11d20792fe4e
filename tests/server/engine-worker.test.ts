import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { LabelsError } from '../../shared/errors.ts'
import { buildApp } from '../../server/app.ts'
import { startEngineWorker, type HostedEngine } from '../../server/engine-host.ts'
import { auth, tokenEntries, until } from './helpers.ts'

let engine: HostedEngine
let app: FastifyInstance
let dataDir: string

beforeAll(async () => {
  engine = await startEngineWorker({}) // in-memory PGlite inside the worker thread
  dataDir = await mkdtemp(join(tmpdir(), 'labels-worker-'))
  app = await buildApp({ engine, db: engine.kind, dataDir, tokens: tokenEntries, calc: { concurrency: 1 } })
  await app.ready()
  await engine.loadDemo({ users: 20000, seed: 3, now: '2026-06-01T00:00:00Z' })
}, 120_000)

afterAll(async () => {
  await app?.close()
  await engine?.terminate()
  await rm(dataDir, { recursive: true, force: true })
})

it('runs the engine behind the same interface in a worker thread', async () => {
  expect(engine.kind).toBe('pglite')
  const schema = await engine.schema()
  expect(schema.events.map((e) => e.name)).toContain('purchase')
})

it('revives engine errors as LabelsError with code and path', async () => {
  const e = await engine
    .validateDefinition({ dataType: 'number', rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } } })
    .catch((x: unknown) => x)
  expect(e).toBeInstanceOf(LabelsError)
  expect(e).toMatchObject({ code: 'invalid', status: 422, path: '/rule/event' })
})

// A deliberately heavy rule: nested behaviour conditions over every event table.
const heavyRule = {
  method: 'custom',
  values: ['view_product', 'add_to_cart', 'purchase', 'app_open', 'share'].flatMap((event, i) => [
    {
      value: `a${i}`,
      when: {
        all: [
          { event, measure: { agg: 'days' }, op: 'gte', value: 3 },
          { event: 'view_product', where: [{ property: 'price', op: 'gt', value: 10 * i }], op: 'gte', value: 2 },
        ],
      },
    },
    {
      value: `b${i}`,
      when: {
        any: [
          { event, window: { lastDays: 30 }, op: 'gte', value: 1 },
          { not: { event: 'purchase', measure: { agg: 'sum', property: 'amount' }, op: 'gt', value: 50 * i } },
        ],
      },
    },
  ]),
}

it('answers a preview over its time budget with a clear timeout error (504)', async () => {
  const tight = await buildApp({
    engine,
    db: engine.kind,
    dataDir,
    tokens: tokenEntries,
    limits: { previewTimeoutMs: 20 },
  })
  try {
    const r = await tight.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'string', rule: heavyRule },
      headers: auth('editor'),
    })
    expect(r.statusCode).toBe(504)
    expect(r.json().error).toMatchObject({ code: 'timeout', message: expect.stringMatching(/20 ms/) })
  } finally {
    await tight.close()
  }
})

it('keeps answering /api/health while a calculation runs', async () => {
  const heavy = {
    name: 'heavy',
    displayName: 'Heavy',
    dataType: 'string',
    labelType: 'static',
    rule: heavyRule,
  }
  const created = await app.inject({ method: 'POST', url: '/api/labels', payload: heavy, headers: auth('editor') })
  expect(created.statusCode).toBe(201)
  const id = created.json().id
  // Engine reads queue behind the run on PGlite's one connection; health must not.
  // No wall-clock bound here (house rule: speed goes in `npm run bench -- soak`, whose reads run during
  // calculations): what is checked is that answers arrive while the run is still going.
  const latencies: number[] = []
  let answeredMidRun = 0
  const t0 = performance.now()
  await until(async () => app.runQueue.busyLabels().includes(id))
  // The label list comes from the run cache, so it answers mid-run and shows the run going.
  const listed = (await app.inject({ url: '/api/labels', headers: auth('viewer') })).json().labels as Array<{
    id: string
    lastRun: { status: string } | null
  }>
  expect(['queued', 'running']).toContain(listed.find((l) => l.id === id)?.lastRun?.status)
  while (app.runQueue.busyLabels().includes(id)) {
    const t = performance.now()
    const h = await app.inject({ url: '/api/health' })
    latencies.push(performance.now() - t)
    expect(h.statusCode).toBe(200)
    if (app.runQueue.busyLabels().includes(id)) answeredMidRun++
    await new Promise((r) => setTimeout(r, 5))
  }
  const runMs = performance.now() - t0
  latencies.sort((a, b) => a - b)
  const max = latencies[latencies.length - 1] ?? 0
  console.log(
    `run ${runMs.toFixed(0)} ms; health during it: ${latencies.length} probes, p50 ${latencies[Math.floor(latencies.length / 2)]?.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
  )
  const run = (await app.inject({ url: `/api/labels/${id}`, headers: auth('viewer') })).json().lastRun
  expect(run.status).toBe('succeeded')
  // The event loop never waited on the query: in-process PGlite would stall it for the whole run, so the
  // first probe would only be answered after the run and none mid-run.
  expect(answeredMidRun).toBeGreaterThanOrEqual(3)
})

it('parses a big upload in the parse worker started from inside the engine worker (the path of POST /api/data/* from 1 MiB)', async () => {
  const lines: string[] = []
  // The length is counted as lines are added (joining them per line made this test take 40 s).
  for (let i = 0, length = 0; length < 1.5 * 1024 * 1024 && i < 100_000; i++) {
    lines.push(
      JSON.stringify({
        user_id: `big_${i % 3000}`,
        event: 'worker_upload',
        time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
        event_id: `wu${i}`,
        properties: { n: i, tag: i % 2 ? 'odd' : 'even' },
      }),
    )
    length += lines[lines.length - 1]!.length + 1
  }
  const body = lines.join('\n') + '\n'
  const r = await app.inject({
    method: 'POST',
    url: '/api/data/events',
    payload: body,
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(Buffer.byteLength(body)).toBeGreaterThan(1 << 20)
  expect(r.statusCode).toBe(200)
  expect(r.json()).toMatchObject({ committed: true, inserted: lines.length, errors: [] })
  const schema = await engine.schema()
  expect(schema.events.find((e) => e.name === 'worker_upload')?.properties).toEqual(
    expect.arrayContaining([
      { name: 'n', type: 'number' },
      { name: 'tag', type: 'string' },
    ]),
  )
  // A bad row far into the body: nothing of the request is stored, the row is reported.
  const bad = body + JSON.stringify({ user_id: 'x', event: 'worker_upload', time: 'not a time', properties: {} }) + '\n'
  const refused = await app.inject({
    method: 'POST',
    url: '/api/data/events',
    payload: bad,
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(refused.statusCode).toBe(400)
  expect(JSON.stringify(refused.json())).toContain(`${lines.length + 1}`)
})
