/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { loadSampleNdjson } from '../../engine/read/sample-load.ts'
import { EngineService } from '../../engine/service.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
import { fetchSampleText } from './fetch-sample.ts'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import type { LoadedSample, PreviewEngine, SampleSource } from './preview-protocol.ts'

// The same engine as the server (rule compiler, preview read) over in-memory PGlite in this
// worker, loaded with a sample of the workspace's customers, so a rule can be previewed while
// it is typed. The sample streams from the server straight into PGlite, never via the page.
let engine: Promise<EngineService> | null = null
let loaded: Promise<LoadedSample> | null = null

const ready = (): Promise<EngineService> => {
  if (!engine) throw new Error('the preview engine was not initialised')
  return engine
}

async function freshEngine(dataDir?: string): Promise<{ db: SqlExecutor; svc: EngineService }> {
  // Not relaxedDurability: its background flushes fail as unhandled rejections (seen as an
  // ErrnoError page error); an awaited flush reports to the query that caused it.
  const db = await openPglite(dataDir)
  const svc = new EngineService(db)
  await svc.migrate()
  return { db, svc }
}

// A kept sample describes itself in this table, written last: a database without it (a load
// cut short) is never used.
const INFO = 'preview_sample_info'

/** The sample kept in IndexedDB at `dataDir`, or null when there is none (complete). */
async function openKept(dataDir: string, t0: number): Promise<{ svc: EngineService; sample: LoadedSample } | null> {
  const { db, svc } = await freshEngine(`idb://${dataDir}`)
  try {
    const { rows } = await db.query<{ info: string }>(`SELECT info FROM ${INFO} LIMIT 1`)
    const info = rows[0] ? (JSON.parse(rows[0].info) as LoadedSample) : null
    if (info?.origin !== 'workspace') throw new Error('no complete sample')
    return { svc, sample: { ...info, ms: Math.round(performance.now() - t0) } }
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
  const first = await freshEngine(store ? `idb://${store.fresh}` : undefined)
  try {
    const r = await loadSampleNdjson(first.svc, first.db, fetchSampleText(source.url, source.token))
    const sample: LoadedSample = {
      origin: 'workspace',
      users: r.users,
      events: r.events,
      totalUsers: r.meta.totalUsers,
      tz: r.meta.tz,
      ms: Math.round(performance.now() - t0),
    }
    if (store) {
      sample.stored = { dataDir: store.fresh, loadedAt: Date.now() }
      await first.db.exec(`CREATE TABLE ${INFO} (info text)`)
      await first.db.query(`INSERT INTO ${INFO} (info) VALUES ($1)`, [JSON.stringify(sample)])
    }
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
