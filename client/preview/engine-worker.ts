/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { loadSampleNdjson } from '../../engine/read/sample-load.ts'
import { EngineService } from '../../engine/service.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
import { fetchSampleText } from './fetch-sample.ts'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import type { LoadedSample, LoadPhases, PreviewEngine, SampleSource } from './preview-protocol.ts'

// The same engine as the server (rule compiler, preview read) over in-memory PGlite in this
// worker, loaded with a sample of the workspace's customers, so a rule can be previewed while
// it is typed. The sample streams from the server straight into PGlite, never via the page.
let engine: Promise<EngineService> | null = null
let loaded: Promise<LoadedSample> | null = null

const ready = (): Promise<EngineService> => {
  if (!engine) throw new Error('the preview engine was not initialised')
  return engine
}

/** Adds the time `p` takes to `phases[name]`. */
async function timed<T>(phases: LoadPhases, name: keyof LoadPhases, p: Promise<T>): Promise<T> {
  const t0 = performance.now()
  try {
    return await p
  } finally {
    phases[name] = (phases[name] ?? 0) + Math.round(performance.now() - t0)
  }
}

/** `chunks`, with the time spent waiting for each added to `phases.network`. */
async function* waited(phases: LoadPhases, chunks: AsyncIterator<string>): AsyncGenerator<string> {
  for (;;) {
    const next = await timed(phases, 'network', chunks.next())
    if (next.done) return
    yield next.value
  }
}

async function freshEngine(dataDir?: string, phases: LoadPhases = {}): Promise<{ db: SqlExecutor; svc: EngineService }> {
  // Not relaxedDurability: its background flushes fail as unhandled rejections (seen as an
  // ErrnoError page error); an awaited flush reports to the query that caused it.
  const db = await timed(phases, 'boot', openPglite(dataDir))
  const svc = new EngineService(db)
  await timed(phases, 'migrate', svc.migrate())
  return { db, svc }
}

// A kept sample describes itself in this table, written last: a database without it (a load
// cut short) is never used.
const INFO = 'preview_sample_info'

/** The sample kept in IndexedDB at `dataDir`, or null when there is none (complete). */
async function openKept(dataDir: string, t0: number): Promise<{ svc: EngineService; sample: LoadedSample } | null> {
  const phases: LoadPhases = {}
  const { db, svc } = await timed(phases, 'open', freshEngine(`idb://${dataDir}`))
  try {
    const { rows } = await db.query<{ info: string }>(`SELECT info FROM ${INFO} LIMIT 1`)
    const info = rows[0] ? (JSON.parse(rows[0].info) as LoadedSample) : null
    if (info?.origin !== 'workspace') throw new Error('no complete sample')
    return { svc, sample: { ...info, ms: Math.round(performance.now() - t0), phases } }
  } catch {
    await svc.close().catch(() => {})
    return null
  }
}

/**
 * The workspace sample from the server (kept in IndexedDB when `source.store` says so), or the
 * one kept from an earlier load; on any failure the demo shop in a fresh in-memory database
 * (never a mix).
 */
async function load(source: SampleSource): Promise<{ svc: EngineService; sample: LoadedSample }> {
  const t0 = performance.now()
  const store = source.store
  if (store?.kept && store.preferKept) {
    const kept = await openKept(store.kept, t0)
    if (kept) return kept
  }
  const phases: LoadPhases = {}
  const first = await freshEngine(store ? `idb://${store.fresh}` : undefined, phases)
  try {
    const t1 = performance.now()
    const r = await loadSampleNdjson(
      first.svc,
      first.db,
      waited(phases, fetchSampleText(source.url, source.token)[Symbol.asyncIterator]()),
    )
    phases.ingest = Math.round(performance.now() - t1) - (phases.network ?? 0)
    const sample: LoadedSample = {
      origin: 'workspace',
      users: r.users,
      events: r.events,
      totalUsers: r.meta.totalUsers,
      tz: r.meta.tz,
      ms: 0,
      phases,
    }
    if (store) {
      sample.stored = { dataDir: store.fresh, loadedAt: Date.now() }
      const t2 = performance.now()
      await first.db.exec(`CREATE TABLE ${INFO} (info text)`)
      await first.db.query(`INSERT INTO ${INFO} (info) VALUES ($1)`, [JSON.stringify(sample)])
      phases.keep = Math.round(performance.now() - t2)
    }
    sample.ms = Math.round(performance.now() - t0)
    return { svc: first.svc, sample }
  } catch (e) {
    await first.svc.close().catch(() => {})
    if (store?.kept && !store.preferKept) {
      const kept = await openKept(store.kept, t0)
      if (kept) return kept
    }
    const reason = (e as Error).message ?? String(e)
    const { svc } = await freshEngine()
    const r = await svc.loadDemo({ users: source.fallback.users, seed: source.fallback.seed })
    return { svc, sample: { origin: 'demo', ...r, ms: Math.round(performance.now() - t0), reason } }
  }
}

const api: PreviewEngine = {
  init(source) {
    loaded ??= (async () => {
      const l = load(source)
      engine = l.then((x) => x.svc)
      return (await l).sample
    })()
    return loaded
  },
  async refresh(source) {
    const l = await load(source)
    if (l.sample.origin !== 'workspace') {
      await l.svc.close().catch(() => {})
      throw new Error('the workspace sample could not be loaded again')
    }
    const old = engine
    engine = Promise.resolve(l.svc)
    loaded = Promise.resolve(l.sample)
    void old?.then((svc) => svc.close()).catch(() => {})
    return l.sample
  },
  async schema() {
    await loaded
    return (await ready()).schema()
  },
  async preview(def, opts) {
    await loaded
    const svc = await ready()
    const t0 = performance.now()
    await svc.validateDefinition(def)
    const distribution = await svc.preview(def, {
      tz: opts.tz,
      timeoutMs: opts.timeoutMs ?? 8000,
      ...(opts.query ? { query: opts.query } : {}),
    })
    return { distribution, ms: Math.round(performance.now() - t0) }
  },
}

// A refused rule crosses to the page as a LabelsError with its code and path.
registerErrorTransport()
Comlink.expose(api)
