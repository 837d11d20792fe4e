/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { openPglite, type PgliteExecutor } from '../../engine/adapters/pglite.ts'
import { loadSampleNdjson } from '../../engine/read/sample-load.ts'
import { EngineService } from '../../engine/service.ts'
import { fetchSampleText } from './fetch-sample.ts'
import { getKept, putKept } from './kept-sample.ts'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import type { LoadedSample, LoadPhases, PreviewEngine, SampleSource } from './preview-protocol.ts'

// The same engine as the server (rule compiler, preview read) over in-memory PGlite in this
// worker, loaded with a sample of the workspace's customers, so a rule can be previewed while
// it is typed. The sample streams from the server straight into PGlite, never via the page.
let engine: Promise<EngineService> | null = null
let loaded: Promise<LoadedSample> | null = null
// Since this worker was created, until its module ran: fetching and compiling it.
const workerMs = Math.round(performance.now())
// An empty engine started ahead of the first load (warm), with the time its start took.
let warmed: { engine: Promise<{ db: PgliteExecutor; svc: EngineService }>; phases: LoadPhases } | null = null

/** The engine warm() started, if any (once), else a new one; either way its start counted in `phases`. */
async function emptyEngine(phases: LoadPhases): Promise<{ db: PgliteExecutor; svc: EngineService }> {
  const w = warmed
  warmed = null
  if (w) {
    try {
      const e = await w.engine
      Object.assign(phases, w.phases)
      return e
    } catch {
      // started in vain: start again
    }
  }
  return freshEngine(phases)
}

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

// The address of the build's template database (client/preview/template-plugin.ts); absent in development.
declare const __LABELS_PREVIEW_TEMPLATE__: string | undefined

/** The template database (no initdb in the browser), or undefined: then PGlite runs initdb. */
async function template(phases: LoadPhases): Promise<Blob | undefined> {
  if (typeof __LABELS_PREVIEW_TEMPLATE__ !== 'string') return undefined
  try {
    const res = await timed(phases, 'template', fetch(__LABELS_PREVIEW_TEMPLATE__))
    return res.ok ? await timed(phases, 'template', res.blob()) : undefined
  } catch {
    return undefined
  }
}

/** An engine over in-memory PGlite: from `loadDataDir` (a kept sample), else the template, else initdb. */
async function freshEngine(
  phases: LoadPhases,
  opts: { loadDataDir?: Blob } = {},
): Promise<{ db: PgliteExecutor; svc: EngineService }> {
  // In memory: on PGlite's idb:// every statement copied the changed files (the WAL segment
  // among them) to IndexedDB; a loaded sample is kept as one tarball instead (kept-sample.ts).
  const loadDataDir = opts.loadDataDir ?? (await template(phases))
  const db = await timed(phases, 'boot', openPglite(undefined, loadDataDir ? { loadDataDir } : {}))
  const svc = new EngineService(db)
  try {
    await timed(phases, 'migrate', svc.migrate())
  } catch (e) {
    await svc.close().catch(() => {})
    throw e
  }
  return { db, svc }
}

/** The sample kept as `name`, started in memory from its tarball, or null when there is none (complete). */
async function openKept(name: string, t0: number): Promise<{ svc: EngineService; sample: LoadedSample } | null> {
  const phases: LoadPhases = { worker: workerMs }
  try {
    const kept = await timed(phases, 'open', getKept(name))
    if (kept?.info.origin !== 'workspace') return null
    const { svc } = await freshEngine(phases, { loadDataDir: kept.dump })
    return { svc, sample: { ...kept.info, ms: Math.round(performance.now() - t0), phases } }
  } catch {
    return null
  }
}

type Stored = NonNullable<Extract<LoadedSample, { origin: 'workspace' }>['stored']>

/** A load; `keep` writes the copy for the next start (a fresh load with `source.store`), resolving to where. */
type Loaded = { svc: EngineService; sample: LoadedSample; keep?: () => Promise<Stored | null> }

/**
 * The workspace sample from the server (kept in IndexedDB when `source.store` says so), or the
 * one kept from an earlier load; on any failure the demo shop in a fresh in-memory database
 * (never a mix).
 */
async function load(source: SampleSource): Promise<Loaded> {
  const t0 = performance.now()
  const store = source.store
  if (store?.kept && store.preferKept) {
    const kept = await openKept(store.kept, t0)
    if (kept) return kept
  }
  const phases: LoadPhases = { worker: workerMs }
  const first = await emptyEngine(phases)
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
    sample.ms = Math.round(performance.now() - t0)
    if (!store) return { svc: first.svc, sample }
    const keep = async () => {
      const stored = { dataDir: store.fresh, loadedAt: Date.now() }
      try {
        await putKept(store.fresh, { info: { ...sample, stored }, dump: await first.db.dumpDataDir() })
        return stored
      } catch {
        return null // not kept (storage full, private mode): this page previews on it all the same
      }
    }
    return { svc: first.svc, sample, keep }
  } catch (e) {
    await first.svc.close().catch(() => {})
    if (store?.kept && !store.preferKept) {
      const kept = await openKept(store.kept, t0)
      if (kept) return kept
    }
    const reason = (e as Error).message ?? String(e)
    const { svc } = await freshEngine({})
    const r = await svc.loadDemo({ users: source.fallback.users, seed: source.fallback.seed })
    return { svc, sample: { origin: 'demo', ...r, ms: Math.round(performance.now() - t0), reason } }
  }
}

// Writing the kept copy (a dump of the whole database) holds PGlite for a while: it waits for the
// first preview (or a few seconds without one), so the editor's first result does not wait for it.
let kept: Promise<Stored | null> = Promise.resolve(null)
let keepNow: (() => void) | null = null
function afterFirstPreview(keep: () => Promise<Stored | null>): Promise<Stored | null> {
  return new Promise((resolve) => {
    const go = () => {
      if (keepNow !== go) return
      keepNow = null
      resolve(keep())
    }
    keepNow = go
    setTimeout(go, 3000)
  })
}

const api: PreviewEngine = {
  async warm() {
    if (loaded || warmed) return
    const phases: LoadPhases = {}
    const engine = freshEngine(phases)
    warmed = { engine, phases }
    await engine.catch(() => {}) // the load then starts another
  },
  init(source) {
    loaded ??= (async () => {
      const l = load(source)
      engine = l.then((x) => x.svc)
      const { sample, keep } = await l
      if (keep) kept = afterFirstPreview(keep)
      return sample
    })()
    return loaded
  },
  kept: () => kept,
  async refresh(source) {
    const l = await load(source)
    const stored = l.keep ? await l.keep() : null // the sample in use meanwhile serves the previews
    if (stored && l.sample.origin === 'workspace') l.sample.stored = stored
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
    keepNow?.()
    return { distribution, ms: Math.round(performance.now() - t0) }
  },
}

// A refused rule crosses to the page as a LabelsError with its code and path.
registerErrorTransport()
Comlink.expose(api)
