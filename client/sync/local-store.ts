import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'
import type { DocUpdates } from './server-updates.ts'

/** The IndexedDB database holding a workspace document in this browser (per origin, so per server). */
export function localDocName(workspace: string): string {
  return `labels-workspace-${workspace}`
}

/** Past this many bytes gathered (a first sync: the whole document), the write waits for the page to be idle. */
export const LOCAL_STORE_IDLE_BYTES = 256 * 1024
/** The longest it waits for idle (ms). */
const IDLE_WAIT_MS = 2000

/** How long updates are gathered before they are written to IndexedDB together. */
export const LOCAL_STORE_BATCH_MS = 100

/**
 * Plain: keeps `doc` in IndexedDB with y-indexeddb: stored updates are applied on open, every
 * later update (local or from the server) is appended. `whenLoaded` resolves once the stored
 * document is in `doc`, and rejects if the database cannot be opened. Returns the store and its cleanup (closes the database; data stays).
 *
 * Updates are gathered for LOCAL_STORE_BATCH_MS and written as one merged update in one
 * IndexedDB transaction: y-indexeddb writes each update in its own transaction, which with a
 * busy draft (20 operators typing) cost ~9 % of the page's main thread, and its 500-row trim
 * (re-reading and re-applying every row, then writing the whole document) came every few
 * seconds. What is gathered is written at once when the page is hidden or closed
 * (`pagehide`, `visibilitychange`) and at cleanup, so a reload keeps every edit. A large write
 * (the first sync of a big workspace, ~2.6 MB at 5,000 labels: ~0.15 s of the main thread to
 * copy into IndexedDB) waits for the page to be idle (at most IDLE_WAIT_MS), after the tree is shown.
 *
 * `updates` (server-updates.ts) hands over the server's updates as received instead of Yjs
 * encoding them again; without it the document's 'update' event is used.
 */
export function makeLocalStore(
  doc: Y.Doc,
  workspace = 'main',
  updates?: DocUpdates,
): [{ whenLoaded: Promise<void>; persistence: IndexeddbPersistence; flush: () => void }, () => void] {
  const persistence = new IndexeddbPersistence(localDocName(workspace), doc)
  // Rejects when the database does not open (y-indexeddb's whenSynced then never settles).
  const whenLoaded = new Promise<void>((resolve, reject) => {
    persistence.whenSynced.then(() => resolve(), reject)
    persistence._db.catch(reject)
  })
  // y-indexeddb's own listener writes one transaction per update: replaced by the batching one.
  const storeOne = persistence._storeUpdate
  doc.off('update', storeOne)
  let gathered: Uint8Array[] = []
  let bytes = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let idle: number | null = null
  const flush = () => {
    if (timer !== null) clearTimeout(timer)
    if (idle !== null) cancelIdleCallback(idle)
    timer = null
    idle = null
    bytes = 0
    if (gathered.length === 0) return
    // Before the database is open there is nothing to write to: y-indexeddb stores the whole
    // document when it opens (these updates included). Waiting would re-arm forever if the
    // database never opens, and write after destroy.
    if (!persistence.db) {
      gathered = []
      return
    }
    const update = gathered.length === 1 ? (gathered[0] as Uint8Array) : Y.mergeUpdates(gathered)
    gathered = []
    storeOne(update, null)
  }
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === persistence) return // what y-indexeddb itself loaded
    gathered.push(update)
    bytes += update.byteLength
    timer ??= setTimeout(flush, LOCAL_STORE_BATCH_MS)
    if (bytes > LOCAL_STORE_IDLE_BYTES && idle === null && typeof requestIdleCallback === 'function') {
      clearTimeout(timer)
      timer = setTimeout(flush, IDLE_WAIT_MS)
      idle = requestIdleCallback(flush, { timeout: IDLE_WAIT_MS })
    }
  }
  const stopListening = updates ? updates.on(onUpdate) : (doc.on('update', onUpdate), () => doc.off('update', onUpdate))
  const onHidden = () => document.visibilityState === 'hidden' && flush()
  window.addEventListener('pagehide', flush)
  document.addEventListener('visibilitychange', onHidden)
  return [
    { whenLoaded, persistence, flush },
    () => {
      flush()
      stopListening()
      window.removeEventListener('pagehide', flush)
      document.removeEventListener('visibilitychange', onHidden)
      void persistence.destroy()
    },
  ]
}

/** What survives a reload about changes the server has not acknowledged yet. */
export interface OfflineRecord {
  /** Local edits (transactions) made since the page last completed a sync with the server. */
  pending: number
  /** When the page lost the server (ms since epoch), or null while connected. */
  since: number | null
}

const key = (workspace: string) => `labels.offline.${workspace}`

/** The remembered record (localStorage), or a clean one. */
export function readOfflineRecord(workspace = 'main'): OfflineRecord {
  try {
    const r = JSON.parse(localStorage.getItem(key(workspace)) ?? 'null') as Partial<OfflineRecord> | null
    return {
      pending: typeof r?.pending === 'number' ? r.pending : 0,
      since: typeof r?.since === 'number' ? r.since : null,
    }
  } catch {
    return { pending: 0, since: null }
  }
}

export function writeOfflineRecord(r: OfflineRecord, workspace = 'main'): void {
  localStorage.setItem(key(workspace), JSON.stringify(r))
}
