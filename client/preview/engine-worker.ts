/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { loadSampleNdjson } from '../../engine/read/sample-load.ts'
import { EngineService } from '../../engine/service.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
import { fetchSampleText } from './fetch-sample.ts'
import type { LoadedSample, PreviewEngine, PreviewOutcome, SampleSource } from './preview-protocol.ts'

// The same engine as the server (rule compiler, preview read) over in-memory PGlite in this
// worker, loaded with a sample of the workspace's customers, so a rule can be previewed while
// it is typed. The sample streams from the server straight into PGlite, never via the page.
let engine: Promise<EngineService> | null = null
let loaded: Promise<LoadedSample> | null = null

const ready = (): Promise<EngineService> => {
  if (!engine) throw new Error('the preview engine was not initialised')
  return engine
}

const errorOf = (e: unknown): PreviewOutcome => {
  const o = e as { code?: string; message?: string; path?: string }
  return { ok: false, error: { code: o.code ?? 'internal', message: o.message ?? String(e), ...(o.path ? { path: o.path } : {}) } }
}

async function freshEngine(): Promise<{ db: SqlExecutor; svc: EngineService }> {
  const db = await openPglite()
  const svc = new EngineService(db)
  await svc.migrate()
  return { db, svc }
}

/** The workspace sample from the server; on any failure the demo shop in a fresh database (never a mix). */
async function load(source: SampleSource): Promise<{ svc: EngineService; sample: LoadedSample }> {
  const t0 = performance.now()
  const first = await freshEngine()
  try {
    const r = await loadSampleNdjson(first.svc, first.db, fetchSampleText(source.url, source.token))
    const sample: LoadedSample = { origin: 'workspace', users: r.users, events: r.events, totalUsers: r.meta.totalUsers, tz: r.meta.tz, ms: Math.round(performance.now() - t0) }
    return { svc: first.svc, sample }
  } catch (e) {
    await first.svc.close().catch(() => {})
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
  async schema() {
    await loaded
    return (await ready()).schema()
  },
  async preview(def, opts) {
    try {
      await loaded
      const svc = await ready()
      const t0 = performance.now()
      await svc.validateDefinition(def)
      const distribution = await svc.preview(def, { tz: opts.tz, timeoutMs: opts.timeoutMs ?? 8000, ...(opts.query ? { query: opts.query } : {}) })
      return { ok: true, distribution, ms: Math.round(performance.now() - t0) }
    } catch (e) {
      return errorOf(e)
    }
  },
}

Comlink.expose(api)
