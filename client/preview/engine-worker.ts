/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { EngineService } from '../../engine/service.ts'
import type { PreviewEngine, PreviewOutcome } from './preview-protocol.ts'

// The same engine as the server (rule compiler, preview read) over in-memory PGlite in this
// worker, loaded with a sample of customers, so a rule can be previewed while it is typed.
let engine: Promise<EngineService> | null = null
let loaded: Promise<{ users: number; events: number; ms: number }> | null = null

const ready = (): Promise<EngineService> => {
  if (!engine) throw new Error('the preview engine was not initialised')
  return engine
}

const errorOf = (e: unknown): PreviewOutcome => {
  const o = e as { code?: string; message?: string; path?: string }
  return { ok: false, error: { code: o.code ?? 'internal', message: o.message ?? String(e), ...(o.path ? { path: o.path } : {}) } }
}

const api: PreviewEngine = {
  init(opts) {
    loaded ??= (async () => {
      const t0 = performance.now()
      const db = await openPglite()
      const svc = new EngineService(db)
      await svc.migrate()
      engine = Promise.resolve(svc)
      const r = await svc.loadDemo({ users: opts.users, seed: opts.seed })
      return { ...r, ms: Math.round(performance.now() - t0) }
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
