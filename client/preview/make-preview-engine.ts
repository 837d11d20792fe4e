import * as Comlink from 'comlink'
import { registerErrorTransport } from '../../shared/worker-errors.ts'
import { afterInputQuiet } from '../after-input-quiet.ts'
import type { LoadedSample, PreviewEngine, SampleSource } from './preview-protocol.ts'

/** Sample of the in-browser preview: large enough for a shape, small enough to load in seconds. */
export const SAMPLE = { users: 2000, seed: 42 } as const

/** A kept sample older than this is loaded again once the network is there. */
export const SAMPLE_MAX_AGE_MS = 24 * 3600_000

type Kept = { dataDir: string; loadedAt: number }
const keptKey = (id: string) => `labels.preview.${id}`
const readKept = (id: string): Kept | null => {
  try {
    const k = JSON.parse(localStorage.getItem(keptKey(id)) ?? 'null') as Kept | null
    return k && typeof k.dataDir === 'string' && typeof k.loadedAt === 'number' ? k : null
  } catch {
    return null
  }
}

/** Drops the IndexedDB database(s) PGlite made for `dataDir` (its name ends with it). */
async function dropStored(dataDir: string): Promise<void> {
  for (const db of await indexedDB.databases()) if (db.name?.endsWith(dataDir)) indexedDB.deleteDatabase(db.name)
}

/**
 * A sample kept in IndexedDB belongs to one token (customer data loaded for one operator is never
 * shown to the next): its database is named after a digest of the token. Null without
 * crypto.subtle (not a secure context): then nothing is kept.
 */
async function storeId(token: string): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`labels-preview:${token}`)))
  return [...d.slice(0, 12)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** Where this load goes: a new database, with the kept one preferred while fresh or offline. */
async function sourceFor(
  token: string,
  url: string,
): Promise<{ source: SampleSource; id: string | null; kept: Kept | null }> {
  const base: SampleSource = { url, token, fallback: { ...SAMPLE } }
  const id = await storeId(token).catch(() => null)
  if (!id) return { source: base, id, kept: null }
  const kept = readKept(id)
  const stale = !kept || Date.now() - kept.loadedAt > SAMPLE_MAX_AGE_MS
  const fresh = `labels-preview-${id}-${Date.now().toString(36)}`
  return {
    source: {
      ...base,
      store: { fresh, ...(kept ? { kept: kept.dataDir } : {}), preferKept: !stale || !navigator.onLine },
    },
    id,
    kept,
  }
}

/** Remembers the sample now in use and drops the database it replaced. */
function remember(id: string | null, previous: Kept | null, sample: LoadedSample): void {
  if (!id || sample.origin !== 'workspace' || !sample.stored) return
  localStorage.setItem(keptKey(id), JSON.stringify(sample.stored))
  if (previous && previous.dataDir !== sample.stored.dataDir) void dropStored(previous.dataDir).catch(() => {})
}

type Shared = {
  remote: Comlink.Remote<PreviewEngine>
  worker: Worker
  token: string
  /** The load, once begun (the editor asked for it, or warming found a kept sample). */
  ready: Promise<LoadedSample> | null
}
let shared: Shared | null = null
const sampleUrl = () => new URL(`/api/data/sample?users=${SAMPLE.users}&seed=${SAMPLE.seed}`, location.origin).href

/** The page's preview worker for this token, started if there is none (another token's is ended). */
function workerFor(token: string): Shared {
  if (shared && shared.token !== token) {
    shared.remote[Comlink.releaseProxy]()
    shared.worker.terminate()
    shared = null
  }
  if (!shared) {
    const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), {
      type: 'module',
      name: 'labels-preview',
    })
    registerErrorTransport() // the worker's errors arrive as LabelsError (code, path)
    shared = { worker, remote: Comlink.wrap<PreviewEngine>(worker), token, ready: null }
  }
  return shared
}

/** Begins the load of `s` (once): the kept sample or the workspace's from the server, then remembered. */
function startLoad(s: Shared): Promise<LoadedSample> {
  const { remote, token } = s
  const url = sampleUrl()
  s.ready ??= sourceFor(token, url).then(async ({ source, id, kept }) => {
    const sample = await remote.init(source)
    remember(id, kept, sample) // a kept copy opened
    // A fresh load, once kept (after the first preview).
    void remote
      .kept()
      .then((stored) => stored && remember(id, kept, { ...sample, stored } as LoadedSample))
      .catch(() => {})
    // Kept and a day old (opened offline): load it again once the network is back.
    const inUse = sample.origin === 'workspace' ? sample.stored : undefined
    if (id && inUse && Date.now() - inUse.loadedAt > SAMPLE_MAX_AGE_MS) {
      const refresh = () => {
        window.removeEventListener('online', refresh)
        void sourceFor(token, url)
          .then(async ({ source, kept: now }) => {
            if (!source.store) return
            // Into a new database only: the kept one is open in the worker.
            remember(
              id,
              now,
              await remote.refresh({ ...source, store: { fresh: source.store.fresh, preferKept: false } }),
            )
          })
          .catch(() => {})
      }
      if (navigator.onLine) refresh()
      else window.addEventListener('online', refresh)
    }
    return sample
  })
  return s.ready
}

/** Marked (performance.mark) when the warm-up has started the engine: benches wait for it. */
export const PREVIEW_WARMED_MARK = 'labels:preview-warmed'

/**
 * Starts the preview worker ahead of the editor (the app calls it once the workspace is live):
 * a kept sample it would open is opened now (no network); otherwise only an empty engine starts
 * (PGlite, the engine's tables), and the sample (a customer export, audited) is fetched when an
 * editor asks for it, so it is as current as then. It waits until the operator has stopped typing,
 * clicking and scrolling for a moment (after-input-quiet.ts): booting PGlite takes a core, and
 * on a 2-core machine it slowed filter keystrokes (issue 9). An editor opened before still starts
 * it at once (makePreviewEngine). Returns a cancel function (before the warm-up has begun).
 */
export function warmPreviewEngine(token: string): () => void {
  return afterInputQuiet(() => {
    const s = workerFor(token)
    if (s.ready) return
    void sourceFor(token, sampleUrl())
      .then(async ({ source }) => {
        if (s.ready || (source.store?.kept && source.store.preferKept)) await startLoad(s)
        else await s.remote.warm()
        performance.mark(PREVIEW_WARMED_MARK)
      })
      .catch(() => {}) // the editor's load reports what fails
  })
}

/**
 * Plain: the page's preview worker (started on first use or by warmPreviewEngine, and kept, so
 * reopening the editor is instant), loading the workspace's customer sample with this token.
 * Returns it and a cleanup that terminates the worker. Another token (another operator signed
 * in) gets a new worker: customer data loaded for one operator is never shown to the next.
 */
export function makePreviewEngine(
  token: string,
): [{ remote: Comlink.Remote<PreviewEngine>; ready: Promise<LoadedSample> }, () => void] {
  const s = workerFor(token)
  const ready = startLoad(s)
  return [
    { remote: s.remote, ready },
    () => {
      s.remote[Comlink.releaseProxy]()
      s.worker.terminate()
      if (shared === s) shared = null
    },
  ]
}
