import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { createLabel, labelsOf, updateLabel, type DocOrigin } from '../shared/doc/index.ts'
import { listenCollab, pct, procStats, round, sleep, spawnCollabServer } from './collab.ts'

const origin: DocOrigin = { kind: 'local', actor: 'bench' }

async function serve(url: string): Promise<void> {
  const { openPostgres } = await import('../engine/adapters/pg.ts')
  const { createSqlDocStore, DocRegistry } = await import('../server/collab/index.ts')
  const { startCluster } = await import('../server/cluster/index.ts')
  const { attachCollabRelay, collabDocOptions, collabStoreHooks } = await import('../server/cluster/collab-relay.ts')
  const cluster = await startCluster(url, { concurrency: 1 })
  const db = await openPostgres(url, { max: 2 })
  const registry = new DocRegistry({
    store: await createSqlDocStore(db, collabStoreHooks(cluster.bus)),
    cluster: collabDocOptions(cluster.bus),
  })
  attachCollabRelay(cluster.bus, registry)
  await registry.get('main')
  await listenCollab(registry)
}

const startServer = (url: string) => spawnCollabServer(fileURLToPath(import.meta.url), url)

interface Editor {
  doc: Y.Doc
  provider: WebsocketProvider
  labelId: string
}

async function editors(urls: string[], n: number, samples: number[]): Promise<Editor[]> {
  const eds = Array.from({ length: n }, (_, i) => {
    const doc = new Y.Doc()
    const provider = new WebsocketProvider(urls[i % urls.length]!, 'main', doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      params: { token: 'bench' },
      disableBc: true,
    })
    return { doc, provider, labelId: '' }
  })
  await Promise.all(
    eds.map((e) => new Promise<void>((r) => (e.provider.synced ? r() : e.provider.once('sync', () => r())))),
  )
  for (const e of eds) {
    const name = `bench_${e.doc.clientID}`
    e.labelId = createLabel(
      e.doc,
      { name, displayName: name, dataType: 'number', labelType: 'static', rule: { method: 'import' } },
      origin,
    ).id
  }
  const want = eds.map((e) => e.labelId)
  const t0 = Date.now()
  while (!eds.every((e) => want.every((id) => labelsOf(e.doc).has(id))) && Date.now() - t0 < 60_000) await sleep(20)
  for (const e of eds)
    labelsOf(e.doc).observeDeep((events, tr) => {
      if (tr.local) return
      const now = performance.now()
      for (const ev of events) {
        if (!(ev instanceof Y.YMapEvent) || !ev.keysChanged.has('description')) continue
        const sent = Number(ev.target.get('description'))
        if (Number.isFinite(sent)) samples.push(now - sent)
      }
    })
  return eds
}

async function listeners(urls: string[], n: number, offset: number, into: WebSocket[]): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          const ws = new WebSocket(`${urls[(offset + i) % urls.length]}/main?token=bench`)
          ws.on('open', () => resolve())
          ws.on('error', reject)
          ws.on('message', () => {})
          into.push(ws)
        }),
    ),
  )
}

interface Row {
  processes: number
  clients: number
  deliveries: number
  p50ms: number
  p99ms: number
  serverCpuPct: number
  maxServerRssMb: number
  benchCpuPct: number
}

async function ramp(base: string, processes: number, f: Flags): Promise<{ rows: Row[]; best: number }> {
  const { newSchemaUrl } = await import('./cluster-schema.ts')
  const schema = await newSchemaUrl(base)
  const servers = await Promise.all(Array.from({ length: processes }, () => startServer(schema.url)))
  const urls = servers.map((s) => s.url)
  const rows: Row[] = []
  let best = 0
  const socks: WebSocket[] = []
  try {
    for (const target of [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 1800].filter(
      (n) => n <= f.rampMax,
    )) {
      await listeners(urls, target - f.editors - socks.length, socks.length, socks)
      const samples: number[] = []
      const eds = await editors(urls, f.editors, samples)
      const before = servers.map((s) => procStats(s.child.pid!).cpuSec)
      const t0 = performance.now()
      const me0 = process.cpuUsage()
      const timers = eds.map((e) =>
        setInterval(
          () => updateLabel(e.doc, e.labelId, { description: String(performance.now()) }, origin),
          1000 / f.rate,
        ),
      )
      await sleep(f.rampSeconds * 1000)
      for (const t of timers) clearInterval(t)
      await sleep(500)
      const wall = (performance.now() - t0) / 1000
      const me = process.cpuUsage(me0)
      const after = servers.map((s) => procStats(s.child.pid!))
      const row: Row = {
        processes,
        clients: target,
        deliveries: samples.length,
        p50ms: round(pct(samples, 50)),
        p99ms: round(pct(samples, 99)),
        serverCpuPct: round((100 * after.reduce((a, x, i) => a + x.cpuSec - before[i]!, 0)) / wall),
        maxServerRssMb: round(Math.max(...after.map((x) => x.rssMb))),
        benchCpuPct: round((100 * (me.user + me.system)) / 1e6 / wall),
      }
      rows.push(row)
      for (const e of eds) e.provider.destroy(), e.doc.destroy()
      if (!(row.p99ms <= 100)) break
      best = target
    }
  } finally {
    for (const w of socks) w.terminate()
    for (const s of servers) s.child.kill('SIGKILL')
    await sleep(500)
    await schema.dispose()
  }
  return { rows, best }
}

interface Flags {
  rampMax: number
  editors: number
  rate: number
  rampSeconds: number
}

export async function main(args: string[]): Promise<void> {
  if (args[0] === '--serve') return serve(args[1]!)
  const num = (name: string, d: number) => {
    const i = args.indexOf(`--${name}`)
    const v = i >= 0 ? Number(args[i + 1]) : d
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
    return v
  }
  const f: Flags = {
    rampMax: num('ramp-max', 600),
    editors: num('editors', 10),
    rate: num('rate', 5),
    rampSeconds: num('ramp-seconds', 5),
  }
  const base = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL
  if (!base) {
    console.log('cluster bench skipped: set DATABASE_URL or TEST_DATABASE_URL (PostgreSQL)')
    return
  }
  process.setMaxListeners(0)
  const one = await ramp(base, 1, f)
  const three = await ramp(base, 3, f)
  console.table([...one.rows, ...three.rows])
  console.log(
    `collab clients served at p99 ≤ 100 ms: 1 process ${one.best}, 3 processes ${three.best} (cap ${f.rampMax}; target 3×)`,
  )
  const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(
    join(outDir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
    JSON.stringify(
      { flags: f, rows: [...one.rows, ...three.rows], best: { one: one.best, three: three.best } },
      null,
      2,
    ),
  )
  process.exit(0)
}

if (process.argv[2] === '--serve') await main(process.argv.slice(2))
