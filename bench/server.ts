/**
 * Server benchmark (npm run bench -- server [--users N] [--connections C] [--seconds S] [--readers R] [--calc-seconds T] [--compare]):
 *  1. p50/p99 latency of GET /api/labels/:id/distribution under C concurrent clients (autocannon);
 *  2. /api/health latency while a heavy calculation over N demo customers runs, with the engine
 *     in its worker thread (as `npm start` runs it); with --compare also with the engine
 *     in-process, which shows why the worker exists;
 *  3. reads during back-to-back calculations on PGlite (issue 12): R clients cycle through
 *     distribution (default, top=N&sort=value, a string and a number label), history and
 *     run-status reads for T seconds while heavy calculations follow each other; p50/p99/max.
 *     Then previews during the same load (PGlite refuses them at once with 503 + Retry-After).
 * The server listens on 127.0.0.1 in this process; autocannon runs in a worker thread for the
 * distribution load (2 shared cores, so figures are conservative). Results: a table on stdout, JSON in bench/results/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { FastifyInstance } from 'fastify'
import { openPglite } from '../engine/adapters/pglite.ts'
import { loadDemo } from '../engine/demo/index.ts'
import type { EngineApi } from '../engine/api.ts'
import { EngineService } from '../engine/service.ts'
import { buildApp } from '../server/app.ts'
import { startEngineWorker } from '../server/engine-host.ts'

interface Flags {
  users: number
  connections: number
  seconds: number
  readers: number
  calcSeconds: number
  compare: boolean
}

function parseFlags(args: string[]): Flags {
  const f: Flags = { users: 20_000, connections: 50, seconds: 10, readers: 30, calcSeconds: 30, compare: false }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    const v = Number(args[i + 1])
    if (a === '--users') (f.users = v), i++
    else if (a === '--connections') (f.connections = v), i++
    else if (a === '--seconds') (f.seconds = v), i++
    else if (a === '--readers') (f.readers = v), i++
    else if (a === '--calc-seconds') (f.calcSeconds = v), i++
    else if (a === '--compare') f.compare = true
    else
      throw new Error(
        `unknown flag ${a}; use --users N --connections C --seconds S --readers R --calc-seconds T --compare`,
      )
  }
  return f
}

const TOKEN = 'bench-token-000001'
const headers = { authorization: `Bearer ${TOKEN}` }

/** A deliberately heavy rule: nested behaviour conditions over every demo event table. */
const heavyLabel = (name: string) => ({
  name,
  displayName: name,
  dataType: 'string',
  labelType: 'static',
  rule: {
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
  },
})

async function start(
  engine: EngineApi,
  db: 'pglite' | 'postgres',
  dataDir: string,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({
    engine,
    db,
    dataDir,
    tokens: [{ name: 'bench', token: TOKEN, role: 'admin' }],
    calc: { concurrency: 1 },
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const addr = app.server.address()
  return { app, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` }
}

async function createLabel(app: FastifyInstance, body: unknown): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/api/labels', payload: body as object, headers })
  if (r.statusCode !== 201) throw new Error(`label refused: ${r.body}`)
  const id = (r.json() as { id: string }).id
  await app.runQueue.idle()
  return id
}

function cannon(opts: autocannon.Options, ownThread = false): { done: Promise<autocannon.Result>; stop(): void } {
  let instance!: autocannon.Instance
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    // ownThread: the load generator runs in a worker thread so its work doesn't sit in the
    // server's event loop (autocannon can't stop() such a run early, so only fixed durations).
    instance = autocannon(ownThread ? { workers: 1, ...opts } : opts, (err, res) => (err ? reject(err) : resolve(res)))
  })
  return { done, stop: () => instance.stop() }
}

interface Row {
  scenario: string
  engine: string
  requests: number
  p50ms: number
  p99ms: number
  maxms: number
  note: string
}

/** Health latency while one heavy calculation runs (1 connection polling back to back). */
async function healthDuringCalc(app: FastifyInstance, url: string, engineKind: string, name: string): Promise<Row> {
  const r = await app.inject({ method: 'POST', url: '/api/labels', payload: heavyLabel(name), headers })
  if (r.statusCode !== 201) throw new Error(r.body)
  const id = (r.json() as { id: string }).id
  const t0 = performance.now()
  const c = cannon({ url: `${url}/api/health`, connections: 4, duration: 600 })
  await app.runQueue.idle()
  c.stop()
  const res = await c.done
  const runMs = performance.now() - t0
  const run = (await app.inject({ url: `/api/labels/${id}/runs`, headers })).json() as {
    runs: Array<{ status: string }>
  }
  return {
    scenario: 'GET /api/health during calculation',
    engine: engineKind,
    requests: res.requests.total,
    p50ms: res.latency.p50,
    p99ms: res.latency.p99,
    maxms: res.latency.max,
    note: `run ${(runMs / 1000).toFixed(1)} s, ${run.runs[0]?.status}`,
  }
}

/**
 * Reads while calculations follow each other back to back (issue 12): one label recalculated
 * over and over (each run holds PGlite's connection for its whole length) while `readers`
 * clients cycle through result, history and run-status reads; then previews under the same load.
 */
async function readsDuringCalcs(
  app: FastifyInstance,
  url: string,
  engineKind: string,
  spendId: string,
  f: Flags,
): Promise<Row[]> {
  const heavyId = (
    await app.inject({ method: 'POST', url: '/api/labels', payload: heavyLabel('heavy_loop'), headers })
  ).json() as { id: string }
  const amount = await createLabel(app, {
    name: 'spend_sum',
    displayName: 'Spend',
    dataType: 'number',
    labelType: 'static',
    rule: {
      method: 'metric',
      event: 'purchase',
      window: { lastDays: 90 },
      measure: { agg: 'sum', property: 'amount' },
    },
  })
  await app.runQueue.idle()
  const runs = (await app.inject({ url: `/api/labels/${spendId}/runs`, headers })).json() as {
    runs: Array<{ id: string }>
  }
  let calcs = 0
  let stop = false
  let runId = runs.runs[0]?.id ?? 'none'
  const loop = (async () => {
    while (!stop) {
      const r = await app.inject({ method: 'POST', url: `/api/labels/${heavyId.id}/calculate`, payload: {}, headers })
      runId = (r.json() as { runId: string }).runId
      await app.runQueue.idle()
      calcs++
    }
  })()
  // Let the first calculation take the engine before the readers start.
  await new Promise((r) => setTimeout(r, 500))
  const paths = [
    `/api/labels/${spendId}/distribution`,
    `/api/labels/${spendId}/distribution?top=3&sort=value`,
    `/api/labels/${amount}/distribution`,
    `/api/labels/${amount}/distribution?boundaries=10,100,1000`,
    `/api/labels/${spendId}/history`,
    `/api/runs/${runs.runs[0]?.id ?? 'none'}`,
    `/api/labels/${heavyId.id}/distribution?top=5&sort=value&order=asc`,
  ]
  const reads = await cannon(
    {
      url,
      connections: f.readers,
      duration: f.calcSeconds,
      headers,
      requests: paths.map((path) => ({ method: 'GET' as const, path })),
    },
    true,
  ).done
  const previewBody = JSON.stringify({
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [{ value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } }],
      otherwise: 'none',
    },
  })
  const previews = await cannon(
    {
      url: `${url}/api/preview`,
      method: 'POST',
      body: previewBody,
      headers: { ...headers, 'content-type': 'application/json' },
      connections: 4,
      duration: 5,
    },
    true,
  ).done
  const status = (await app.inject({ url: `/api/runs/${runId}`, headers })).json() as { status: string }
  stop = true
  await loop
  return [
    {
      scenario: `reads during back-to-back calculations, ${f.readers} clients`,
      engine: engineKind,
      requests: reads.requests.total,
      p50ms: reads.latency.p50,
      p99ms: reads.latency.p99,
      maxms: reads.latency.max,
      note: `${reads.non2xx} non-2xx, ${reads.errors} errors, ${calcs} calculations finished, last run ${status.status} when reads ended`,
    },
    {
      scenario: 'POST /api/preview during calculations, 4 clients',
      engine: engineKind,
      requests: previews.requests.total,
      p50ms: previews.latency.p50,
      p99ms: previews.latency.p99,
      maxms: previews.latency.max,
      note: `${previews['2xx']} 2xx, ${previews.non2xx} non-2xx (503 busy on PGlite)`,
    },
  ]
}

export async function main(args: string[]): Promise<void> {
  const f = parseFlags(args)
  const dir = mkdtempSync(join(tmpdir(), 'labels-server-bench-'))
  const rows: Row[] = []
  try {
    // 1. Engine in a worker thread, as `npm start` runs it.
    const engine = await startEngineWorker({})
    const t0 = performance.now()
    const demo = await engine.loadDemo({ users: f.users, seed: 42 })
    console.log(
      `demo data: ${demo.users} users, ${demo.events} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    )
    const { app, url } = await start(engine, engine.kind, dir)
    const labelId = await createLabel(app, {
      name: 'spend_band',
      displayName: 'Spend band',
      dataType: 'string',
      labelType: 'static',
      rule: {
        method: 'distribution',
        event: 'purchase',
        window: { lastDays: 90 },
        measure: { agg: 'sum', property: 'amount' },
        boundaries: [1, 100, 500, 1500],
      },
    })
    const dist = await cannon(
      { url: `${url}/api/labels/${labelId}/distribution`, headers, connections: f.connections, duration: f.seconds },
      true,
    ).done
    rows.push({
      scenario: `GET distribution, ${f.connections} clients`,
      engine: 'worker',
      requests: dist.requests.total,
      p50ms: dist.latency.p50,
      p99ms: dist.latency.p99,
      maxms: dist.latency.max,
      note: `${dist.non2xx} non-2xx, ${Math.round(dist.requests.average)} req/s`,
    })
    rows.push(await healthDuringCalc(app, url, 'worker', 'heavy_worker'))
    rows.push(...(await readsDuringCalcs(app, url, engine.kind, labelId, f)))
    await app.close()
    await engine.terminate()

    // 2. Optional contrast: the same calculation with the engine on the HTTP thread.
    if (f.compare) {
      const db = await openPglite()
      const inproc = new EngineService(db, { loadDemo })
      await inproc.migrate()
      await inproc.loadDemo({ users: f.users, seed: 42 })
      const s = await start(inproc, 'pglite', join(dir, 'inproc'))
      rows.push(await healthDuringCalc(s.app, s.url, 'in-process', 'heavy_inproc'))
      await s.app.close()
      await inproc.close()
    }

    console.table(rows)
    const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results')
    mkdirSync(outDir, { recursive: true })
    const file = join(outDir, `server-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
    writeFileSync(file, JSON.stringify({ flags: f, demo, rows, at: new Date().toISOString() }, null, 2))
    console.log(`wrote ${file}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
