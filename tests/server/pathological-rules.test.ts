/**
 * Issue 12: pathological rules, with health and WebSocket latency unaffected meanwhile.
 *
 * The whole app as `main` runs it (engine in its worker thread, collab socket, real HTTP on a
 * port), on PGlite and on PostgreSQL. While rules at every limit run (a preview nested to the
 * depth limit with every condition used, previews with 100 in-lists at their maximum, before/after
 * of such a rule, a calculation over 50 windows), probes keep asking `GET /api/health` and
 * doing a collab sync round trip. Assertions are about answers, not durations: every probe
 * is answered, probes are answered while the work is still in progress (the server is not
 * blocked for its whole duration), and every pathological request gets an answer that is not
 * a 500. The latencies are printed (there is no bench of them apart).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { openPostgres } from '../../engine/adapters/pg.ts'
import { ruleLimits } from '../../shared/limits.ts'
import { buildApp } from '../../server/app.ts'
import { createSqlDocStore } from '../../server/collab/index.ts'
import { startEngineWorker, type HostedEngine } from '../../server/engine-host.ts'
import { describeEachDb, newDb, type DbKind, type TestDb } from '../helpers/db.ts'
import { tokens, tokenEntries } from './helpers.ts'

const USERS = 3000
const NOW = '2026-06-01T00:00:00Z'

interface Running {
  app: FastifyInstance
  engine: HostedEngine
  base: string
  close(): Promise<void>
}

async function start(kind: DbKind): Promise<Running> {
  let schema: string | undefined
  const url = process.env.TEST_DATABASE_URL
  if (kind === 'postgres') {
    schema = `patho_${process.pid}_${Date.now().toString(36)}`
    const admin = await openPostgres(url!, { max: 1 })
    await admin.exec(`CREATE SCHEMA ${schema}`)
    await admin.close()
  }
  const engine = await startEngineWorker(kind === 'postgres' ? { databaseUrl: url!, schema: schema! } : {})
  const docDb: TestDb = await newDb(kind)
  const docStore = await createSqlDocStore(docDb)
  const dataDir = await mkdtemp(join(tmpdir(), 'labels-patho-'))
  const app = await buildApp({
    engine,
    db: engine.kind,
    dataDir,
    tokens: tokenEntries,
    docStore,
    calc: { concurrency: 1 },
    // Generous: the work must run long enough to probe beside it; a preview that overruns answers 504.
    limits: { previewTimeoutMs: 30_000 },
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  return {
    app,
    engine,
    base: `http://127.0.0.1:${port}`,
    async close() {
      await app.close()
      await engine.terminate()
      await docDb.dispose()
      await rm(dataDir, { recursive: true, force: true })
      if (schema) {
        const admin = await openPostgres(url!, { max: 1 })
        await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
        await admin.close()
      }
    },
  }
}

const editor = { authorization: `Bearer ${tokens.editor}`, 'content-type': 'application/json' }

/** A behaviour condition: a where with a long not_in list, a dated window. */
function heavyLeaf(i: number): Record<string, unknown> {
  const day = (n: number) => new Date(Date.parse(NOW) - n * 86_400_000).toISOString().slice(0, 10)
  return {
    event: ['view_product', 'add_to_cart', 'purchase'][i % 3],
    where: [
      {
        property: 'category',
        op: 'not_in',
        value: Array.from({ length: 100 }, (_, k) => `x${i}-${k}`),
      },
    ],
    window: { from: day(90 - (i % 60)), to: day(i % 30) },
    measure: { agg: i % 3 ? 'count' : 'days' },
    op: 'gte',
    value: 1,
  }
}

/** A condition nested `depth` levels (not/all/any alternating) around `leaves` leaves. */
function nested(depth: number, leaves: Array<Record<string, unknown>>): Record<string, unknown> {
  let c: Record<string, unknown> = { any: leaves }
  for (let d = 2; d < depth; d++) c = d % 2 ? { not: c } : { all: [c] }
  return c
}

/** A custom rule using every condition of the budget, nested to the depth limit. */
function deepRule(): Record<string, unknown> {
  const layers = ruleLimits.layers
  const perLayer = Math.floor(ruleLimits.conditions / layers) - ruleLimits.conditionDepth + 1
  let i = 0
  return {
    method: 'custom',
    values: Array.from({ length: layers }, (_, l) => ({
      value: `v${l}`,
      when: nested(
        ruleLimits.conditionDepth,
        Array.from({ length: perLayer }, () => heavyLeaf(i++)),
      ),
    })),
    otherwise: 'none',
  }
}

/** Attribute conditions with in-lists at their maximum, 50 layers. */
function inListRule(): Record<string, unknown> {
  return {
    method: 'custom',
    values: Array.from({ length: ruleLimits.layers }, (_, l) => ({
      value: `c${l}`,
      when: {
        // Two full lists a layer: the 4 MiB body limit caps a request before the rule limits would.
        all: Array.from({ length: 2 }, (_, k) => ({
          attribute: k ? 'age' : 'city',
          op: k ? 'not_in' : 'in',
          value: k
            ? Array.from({ length: ruleLimits.listValues }, (_, n) => n + l)
            : Array.from({ length: ruleLimits.listValues }, (_, n) => `city-${l}-${n}'"\\$$;--`),
        })),
      },
    })),
  }
}

/** A calculation over 50 windows: one layer per window, each a dated window on purchases. */
function manyWindowsRule(): Record<string, unknown> {
  const day = (n: number) => new Date(Date.parse(NOW) - n * 86_400_000).toISOString().slice(0, 10)
  return {
    method: 'custom',
    values: Array.from({ length: ruleLimits.layers }, (_, l) => ({
      value: `w${l}`,
      when: {
        all: [
          {
            event: 'purchase',
            window: { from: day(90 - l), to: day(l % 20) },
            measure: { agg: 'count' },
            op: 'gte',
            value: 1,
          },
          { event: 'view_product', window: { lastDays: 1 + l }, measure: { agg: 'days' }, op: 'gte', value: 1 },
          { not: { event: 'share', window: { from: day(60 + l), to: day(l) }, op: 'gte', value: 2 } },
        ],
      },
    })),
  }
}

/** One collab round trip: a sync step 1 out, the server's sync step 2 back. */
class SyncProbe {
  private ws!: WebSocket
  private waiting: (() => void) | null = null
  async open(base: string): Promise<void> {
    this.ws = new WebSocket(`${base.replace('http', 'ws')}/collab/main?token=${tokens.editor}`)
    this.ws.on('message', (data: Buffer) => {
      const d = decoding.createDecoder(new Uint8Array(data))
      if (decoding.readVarUint(d) !== 0) return // sync messages only (not awareness)
      if (decoding.readVarUint(d) === syncProtocol.messageYjsSyncStep2) {
        const w = this.waiting
        this.waiting = null
        w?.()
      }
    })
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }
  roundTrip(): Promise<void> {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, new Y.Doc())
    const answered = new Promise<void>((r) => (this.waiting = r))
    this.ws.send(encoding.toUint8Array(e))
    return answered
  }
  close(): void {
    this.ws.close()
  }
}

interface Probe {
  kind: 'health' | 'collab'
  start: number
  end: number
  ok: boolean
}

/** Probes health and the collab socket one after the other until stopped. */
function probeLoop(base: string, sync: SyncProbe) {
  const probes: Probe[] = []
  let stop = false
  const loop = (async () => {
    while (!stop) {
      let start = performance.now()
      const r = await fetch(`${base}/api/health`).catch(() => null)
      probes.push({ kind: 'health', start, end: performance.now(), ok: r?.status === 200 })
      await r?.text()
      start = performance.now()
      const ok = await sync.roundTrip().then(
        () => true,
        () => false,
      )
      probes.push({ kind: 'collab', start, end: performance.now(), ok })
      await new Promise((res) => setTimeout(res, 25))
    }
  })()
  return {
    probes,
    async stop() {
      stop = true
      await loop
    },
  }
}

describeEachDb('pathological rules leave health and the collab socket answered', (kind) => {
  let s: Running
  beforeAll(async () => {
    s = await start(kind)
    await s.engine.loadDemo({ users: USERS, seed: 7, now: NOW })
  }, 300_000)
  afterAll(async () => {
    await s?.close()
  })

  it('answers every probe, also while the work runs, and answers every pathological request', async () => {
    const sync = new SyncProbe()
    await sync.open(s.base)
    await sync.roundTrip() // connected and synced before measuring
    const post = (path: string, body: unknown) =>
      fetch(`${s.base}${path}`, { method: 'POST', headers: editor, body: JSON.stringify(body) }).then(async (r) => ({
        path,
        status: r.status,
        body: await r.text(),
      }))

    const created = await post('/api/labels', {
      name: 'many_windows',
      displayName: 'Many windows',
      dataType: 'string',
      labelType: 'static',
      rule: { method: 'import' },
    })
    expect(created.status, created.body).toBe(201)

    const loop = probeLoop(s.base, sync)
    const t0 = performance.now()
    const answers = await Promise.all([
      post('/api/preview', { dataType: 'string', rule: deepRule() }),
      post('/api/preview', { dataType: 'string', rule: inListRule() }),
      post('/api/labels/many_windows/compare', { dataType: 'string', rule: deepRule() }),
      (async () => {
        const patched = await fetch(`${s.base}/api/labels/many_windows`, {
          method: 'PATCH',
          headers: editor,
          body: JSON.stringify({ rule: manyWindowsRule() }),
        })
        const body = await patched.text()
        if (patched.status !== 200) return { path: 'PATCH many_windows', status: patched.status, body }
        // The edit recalculates; wait for that run to end.
        for (;;) {
          const r = await fetch(`${s.base}/api/labels/many_windows/runs?limit=1`, { headers: editor })
          const runs =
            r.status === 200 ? ((await r.json()) as { runs: Array<{ status: string; trigger: string }> }).runs : []
          const run = runs[0]
          if (run && run.trigger === 'update' && (run.status === 'succeeded' || run.status === 'failed'))
            return { path: 'calculation', status: run.status === 'succeeded' ? 200 : 500, body: JSON.stringify(run) }
          await new Promise((res) => setTimeout(res, 100))
        }
      })(),
    ])
    const t1 = performance.now()
    await loop.stop()
    sync.close()

    // Every pathological request was answered, and none with a server error: a result, a
    // timeout (504) or busy (503 on PGlite behind a calculation) are all answers.
    for (const a of answers) expect([200, 503, 504], `${a.path}: ${a.body.slice(0, 300)}`).toContain(a.status)
    const calc = answers[3]!
    expect(calc.status, calc.body).toBe(200)

    const during = loop.probes.filter((p) => p.start >= t0 && p.start < t1)
    // Every probe was answered.
    expect(loop.probes.filter((p) => !p.ok)).toEqual([])
    // The server answered both kinds of probe while the work was still running, not only once it was over.
    for (const k of ['health', 'collab'] as const)
      expect(
        during.filter((p) => p.kind === k && p.end < t1).length,
        `${k} answered during the work`,
      ).toBeGreaterThanOrEqual(3)
    const worst = (k: string) => Math.max(...during.filter((p) => p.kind === k).map((p) => p.end - p.start))
    console.log(
      `[pathological ${kind}] work ${Math.round(t1 - t0)} ms; ${during.length} probes; ` +
        `worst health ${Math.round(worst('health'))} ms, worst collab ${Math.round(worst('collab'))} ms; ` +
        answers.map((a) => `${a.path} ${a.status}`).join(', '),
    )
  }, 600_000)
})
