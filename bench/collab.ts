/**
 * Collab benchmark: N operators (stock y-websocket clients) editing one workspace against a
 * server in a child process (PGlite on disk), then a ramp of connected clients.
 *
 *   npm run bench -- collab [--clients 50] [--rate 5] [--seconds 30] [--ramp-max 600]
 *                           [--ramp-seconds 5] [--editors 10] [--no-ramp]
 *
 * Latency = time from an operator's local edit to its arrival in every other client's document
 * (all clients live in this process, so they share one clock). Server CPU and RSS come from
 * /proc/<pid> of the server process. Results: a table on stdout, JSON in bench/results/.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { createLabel, labelsOf, updateLabel, type DocOrigin } from '../shared/doc/index.ts'

interface Flags {
  clients: number
  rate: number
  seconds: number
  rampMax: number
  rampSeconds: number
  editors: number
  ramp: boolean
}

function parseFlags(args: string[]): Flags {
  const num = (name: string, d: number) => {
    const i = args.indexOf(`--${name}`)
    const v = i >= 0 ? Number(args[i + 1]) : d
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
    return v
  }
  return {
    clients: num('clients', 50),
    rate: num('rate', 5),
    seconds: num('seconds', 30),
    rampMax: num('ramp-max', 600),
    rampSeconds: num('ramp-seconds', 5),
    editors: num('editors', 10),
    ramp: !args.includes('--no-ramp'),
  }
}

// ---------- server side (child process) ----------

async function serve(dir: string): Promise<void> {
  const { openPglite, smallPgliteConf } = await import('../engine/adapters/pglite.ts')
  const { createSqlDocStore, DocRegistry } = await import('../server/collab/index.ts')
  // DATABASE_URL: keep the documents in PostgreSQL; otherwise PGlite on disk, as `npm start` does.
  const db = process.env.DATABASE_URL
    ? await (await import('../engine/adapters/pg.ts')).openPostgres(process.env.DATABASE_URL)
    : await openPglite(dir, { conf: smallPgliteConf })
  await listenCollab(new DocRegistry({ store: await createSqlDocStore(db) }))
}

/** Serves `registry` on the collab plugin (token `bench`) at a free port, and prints {"port"} for the parent. */
export async function listenCollab(registry: import('../server/collab/index.ts').DocRegistry): Promise<void> {
  const { default: Fastify } = await import('fastify')
  const { collabPlugin } = await import('../server/collab/index.ts')
  const app = Fastify()
  await app.register(collabPlugin, {
    authenticate: (t) => (t === 'bench' ? { name: 'bench', role: 'editor' } : null),
    registry,
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  process.stdout.write(JSON.stringify({ port: (app.server.address() as { port: number }).port }) + '\n')
}

const startServer = (dir: string) => spawnCollabServer(fileURLToPath(import.meta.url), dir)

/** Starts `script --serve arg` (a bench's server half) and resolves with its collab URL once it printed its port. */
export function spawnCollabServer(script: string, arg: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--serve', arg], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (line) resolve({ child, url: `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/collab` })
    })
    child.once('exit', (c) => reject(new Error(`bench server exited with ${c}`)))
  })
}

/** CPU seconds and RSS of a process, from /proc (Linux); zeros elsewhere. */
export function procStats(pid: number): { cpuSec: number; rssMb: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    const cpuSec = (Number(stat[11]) + Number(stat[12])) / 100 // utime + stime, USER_HZ = 100
    const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return { cpuSec, rssMb: rss ? Number(rss[1]) / 1024 : 0 }
  } catch {
    return { cpuSec: 0, rssMb: 0 }
  }
}

// ---------- client side ----------

interface Operator {
  doc: Y.Doc
  provider: WebsocketProvider
  labelId: string
  seq: number
}

function connect(url: string): Operator {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, 'main', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token: 'bench' },
    disableBc: true,
  })
  return { doc, provider, labelId: '', seq: 0 }
}

const synced = (o: Operator) =>
  o.provider.synced ? Promise.resolve() : new Promise<void>((r) => o.provider.once('sync', () => r()))

/** Records edit→arrival latency: each edit writes `description = "<sentAtMs>"`. */
function listen(o: Operator, samples: number[]): void {
  labelsOf(o.doc).observeDeep((events, tr) => {
    if (tr.local) return
    const now = performance.now()
    for (const e of events) {
      if (!(e instanceof Y.YMapEvent) || !e.keysChanged.has('description')) continue
      const sent = Number(e.target.get('description'))
      if (Number.isFinite(sent)) samples.push(now - sent)
    }
  })
}

async function setupOperators(url: string, n: number, samples: number[]): Promise<Operator[]> {
  const ops = Array.from({ length: n }, () => connect(url))
  await Promise.all(ops.map(synced))
  const origin: DocOrigin = { kind: 'local', actor: 'bench' }
  ops.forEach((o) => {
    const name = `bench_${o.doc.clientID}`
    o.labelId = createLabel(
      o.doc,
      { name, displayName: name, dataType: 'number', labelType: 'static', rule: { method: 'import' } },
      origin,
    ).id
  })
  const total = () => Math.min(...ops.map((o) => labelsOf(o.doc).size))
  const t0 = Date.now()
  while (total() < n && Date.now() - t0 < 30_000) await sleep(20)
  ops.forEach((o) => listen(o, samples))
  return ops
}

async function drive(ops: Operator[], rate: number, seconds: number): Promise<number> {
  const origin: DocOrigin = { kind: 'local', actor: 'bench' }
  let edits = 0
  const timers = ops.map((o, i) => {
    const tick = () => {
      updateLabel(o.doc, o.labelId, { description: String(performance.now()) }, origin)
      edits++
    }
    // stagger operators so edits spread over the interval like real people's
    const start = setTimeout(
      () => {
        tick()
        timers[i] = setInterval(tick, 1000 / rate)
      },
      (i / ops.length) * (1000 / rate),
    )
    return start as ReturnType<typeof setTimeout> | ReturnType<typeof setInterval>
  })
  await sleep(seconds * 1000)
  timers.forEach(
    (t) => (clearTimeout(t as ReturnType<typeof setTimeout>), clearInterval(t as ReturnType<typeof setInterval>)),
  )
  await sleep(500) // let the last edits land
  return edits
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

interface Row {
  phase: string
  clients: number
  editors: number
  expectedEdits: number
  edits: number
  deliveries: number
  p50ms: number
  p99ms: number
  serverCpuPct: number
  serverRssMb: number
  benchCpuPct: number
}

async function measure(
  pid: number,
  phase: string,
  clients: number,
  ops: Operator[],
  rate: number,
  seconds: number,
  samples: number[],
): Promise<Row> {
  samples.length = 0
  let peakRss = 0
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, procStats(pid).rssMb)), 250)
  const before = procStats(pid),
    t0 = performance.now(),
    me0 = process.cpuUsage()
  const edits = await drive(ops, rate, seconds)
  const after = procStats(pid),
    wall = (performance.now() - t0) / 1000,
    me = process.cpuUsage(me0)
  clearInterval(sampler)
  return {
    phase,
    clients,
    editors: ops.length,
    expectedEdits: Math.round(ops.length * rate * seconds),
    edits,
    deliveries: samples.length,
    p50ms: round(pct(samples, 50)),
    p99ms: round(pct(samples, 99)),
    serverCpuPct: round((100 * (after.cpuSec - before.cpuSec)) / wall),
    serverRssMb: round(Math.max(peakRss, after.rssMb)),
    // All clients share this one process: near 100 % means the numbers are client-bound.
    benchCpuPct: round((100 * (me.user + me.system)) / 1e6 / wall),
  }
}

export const round = (x: number) => Math.round(x * 10) / 10

/** Passive listeners: plain sockets that join the room and just receive (cheap on this side). */
async function addListeners(url: string, n: number, into: WebSocket[]): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${url}/main?token=bench`)
          ws.on('open', () => resolve())
          ws.on('error', reject)
          ws.on('message', () => {})
          into.push(ws)
        }),
    ),
  )
}

export async function main(args: string[]): Promise<void> {
  if (args[0] === '--serve') return serve(args[1]!)
  const f = parseFlags(args)
  process.setMaxListeners(0) // every y-websocket provider adds an exit listener
  const dir = mkdtempSync(join(tmpdir(), 'labels-collab-bench-'))
  const srv = await startServer(dir)
  const pid = srv.child.pid!
  // RSS right after start includes PGlite's WASM compilation (freed later), so it is only reported;
  // the 500 MB target applies to the server's absolute RSS (peak during each phase).
  const baseRss = procStats(pid).rssMb
  const rows: Row[] = []
  const samples: number[] = []
  try {
    const ops = await setupOperators(srv.url, f.clients, samples)
    rows.push(await measure(pid, 'steady', f.clients, ops, f.rate, f.seconds, samples))
    ops.forEach((o) => (o.provider.destroy(), o.doc.destroy()))
    let best = 0
    if (f.ramp) {
      const listeners: WebSocket[] = []
      for (const target of [50, 100, 200, 300, 400, 500, 600].filter((n) => n <= f.rampMax)) {
        await addListeners(srv.url, target - f.editors - listeners.length, listeners)
        const eds = await setupOperators(srv.url, f.editors, samples)
        const row = await measure(pid, 'ramp', target, eds, f.rate, f.rampSeconds, samples)
        rows.push(row)
        eds.forEach((o) => (o.provider.destroy(), o.doc.destroy()))
        const ok = row.p99ms <= 100 && row.serverRssMb <= 500
        if (!ok) break
        best = target
      }
      listeners.forEach((w) => w.terminate())
    }
    console.table(rows)
    if (f.ramp)
      console.log(
        `largest connected-client count with p99 ≤ 100 ms and server RSS ≤ 500 MB: ${best}${best === f.rampMax ? ' (cap reached)' : ''}`,
      )
    const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results')
    mkdirSync(outDir, { recursive: true })
    const file = join(outDir, `collab-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
    writeFileSync(
      file,
      JSON.stringify(
        {
          flags: f,
          idleServerRssMb: baseRss,
          rows,
          bestRampClients: f.ramp ? best : null,
          at: new Date().toISOString(),
        },
        null,
        2,
      ),
    )
    console.log(`wrote ${file}`)
  } finally {
    srv.child.kill('SIGTERM')
    await new Promise((r) => srv.child.once('exit', r))
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2))
}
