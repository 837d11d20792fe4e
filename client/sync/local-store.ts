import { fromBase64, toBase64 } from 'lib0/buffer'
import * as idb from 'lib0/indexeddb'
import * as Y from 'yjs'
import type { DocUpdates } from './server-updates.ts'

/** The IndexedDB database holding a workspace document in this browser (per origin, so per server). */
export function localDocName(workspace: string): string {
  return `labels-workspace-${workspace}`
}

/**
 * The localStorage key of edits a page had not yet seen committed to IndexedDB when it went away.
 * A write started as a page unloads (pagehide) may never commit: an edit made just before a
 * reload or a closed tab was lost (the offline e2e test caught it, once, under load). localStorage
 * writes are synchronous, so they are kept there too, and the next load of the workspace applies
 * and stores them.
 */
export function unsavedKey(workspace: string): string {
  return `labels-unsaved-${workspace}`
}

/** The edits kept as a page went away (unsavedKey), or null (none, or unreadable: dropped). */
function readUnsaved(key: string): Uint8Array | null {
  try {
    const text = localStorage.getItem(key)
    return text ? fromBase64(text) : null
  } catch {
    return null
  }
}

/**
 * Past this many bytes not yet committed (a first sync's whole document, say: the server has it
 * anyway), nothing is kept in localStorage (about 5 MB per origin, and base64 adds a third).
 */
const UNSAVED_MAX_BYTES = 1024 * 1024

/** Keeps `updates` under `key`, with what is kept there already; not when too large or localStorage refuses (full, or off). */
function keepUnsaved(key: string, updates: Uint8Array[]): void {
  if (updates.reduce((n, u) => n + u.byteLength, 0) > UNSAVED_MAX_BYTES) return
  try {
    const kept = readUnsaved(key)
    localStorage.setItem(key, toBase64(Y.mergeUpdates(kept ? [kept, ...updates] : updates)))
  } catch {
    // Not kept: the edit is still in the document (and reaches the server once online).
  }
}

/** Past this many bytes gathered (a first sync: the whole document), the write waits for the page to be idle. */
export const LOCAL_STORE_IDLE_BYTES = 256 * 1024
/** The longest it waits for idle (ms). */
const IDLE_WAIT_MS = 2000

/** How long updates are gathered before they are written to IndexedDB together. */
export const LOCAL_STORE_BATCH_MS = 100

/** The copy's object store: one row per stored update (y-indexeddb's layout, which earlier builds wrote). */
const UPDATES = 'updates'

/**
 * When a copy is compacted into one row (the document's state): when its rows hold more than
 * COMPACT_RATIO times the largest row (a whole document; earlier builds appended one per reload)
 * and more than LOCAL_STORE_IDLE_BYTES, checked after a load; or past COMPACT_ROWS rows, checked
 * after a load and as rows are appended (a busy draft appends one per LOCAL_STORE_BATCH_MS).
 * Measured at 5,000 labels (2.6 MB; Node, machine load 4–6): each extra whole document costs
 * 150–300 ms at every load, a compaction ~60 ms of encoding plus the write (~0.15 s in Chromium)
 * once, at idle; a thousand small rows cost no measurable time, so the row limit stays
 * y-indexeddb's (it bounds the copy, each compaction writes the whole document).
 */
export const COMPACT_RATIO = 1.5
export const COMPACT_ROWS = 500

/**
 * Marks the copy's load in the page's performance timeline (`labels:copy-opened`, `-read`,
 * `-applied`): bench/client.ts prints them per reload.
 */
function mark(step: string): void {
  if (typeof performance !== 'undefined' && typeof performance.mark === 'function')
    performance.mark(`labels:copy-${step}`)
}

/**
 * Whether this browser keeps a copy of `workspace` (an IndexedDB database of that name): false on
 * a first visit or after the site's storage was cleared, null where the browser can't list its
 * databases (IDBFactory.databases, Chromium 71+, Firefox 126+, Safari 14+) or refuses to.
 */
export async function hasLocalCopy(workspace: string): Promise<boolean | null> {
  if (typeof indexedDB === 'undefined' || typeof indexedDB.databases !== 'function') return null
  try {
    const name = localDocName(workspace)
    return (await indexedDB.databases()).some((d) => d.name === name)
  } catch {
    return null
  }
}

/** Appends an update as a row; resolves to its key. (lib0 types the value narrower than IndexedDB takes it.) */
function addRow(store: IDBObjectStore, update: Uint8Array): Promise<number> {
  return idb.addAutoKey(store, update as unknown as ArrayBuffer).then(Number)
}

/** What a load read: rows, their bytes, the largest row's bytes. */
export interface CopyShape {
  rows: number
  bytes: number
  largest: number
}

/** True when a copy of this shape is compacted after it is loaded (COMPACT_ROWS, COMPACT_RATIO). */
export function needsCompaction(c: CopyShape): boolean {
  return c.rows > COMPACT_ROWS || (c.bytes > LOCAL_STORE_IDLE_BYTES && c.bytes > COMPACT_RATIO * c.largest)
}

export interface LocalStore {
  /** Resolves once the stored document is in `doc`; rejects if the database cannot be opened. */
  whenLoaded: Promise<CopyShape>
  /** Writes what is gathered now. */
  flush: () => void
}

/**
 * Plain: keeps `doc` in IndexedDB, in y-indexeddb's layout (an `updates` store of Yjs updates,
 * so copies written by earlier builds load): the stored rows are read and applied on open in one
 * transaction, every later update (local or from the server) is appended. Returns the store and
 * its cleanup (closes the database; data stays).
 *
 * The load is handed to `updates.applyStored` (server-updates.ts), which keeps Yjs from encoding
 * the whole document again for the update listeners (issue 9: the reload from the copy was slower
 * than from the server). A copy that has grown (needsCompaction) is rewritten as one row once the
 * page is idle after the load; y-indexeddb compacted only at 500 rows, re-reading and re-applying
 * every row, so a copy holding several whole documents (earlier builds) was decoded several times
 * at every reload. Past COMPACT_ROWS rows it is compacted the same way.
 *
 * Updates are gathered for LOCAL_STORE_BATCH_MS and written as one merged update in one
 * IndexedDB transaction: one transaction per update, with a busy draft (20 operators typing),
 * cost ~9 % of the page's main thread. What is gathered is written at once when the page is
 * hidden or closed (`pagehide`, `visibilitychange`) and at cleanup, so a reload keeps every edit.
 * A large write (the first sync of a big workspace, ~2.6 MB at 5,000 labels: ~0.15 s of the main
 * thread to copy into IndexedDB) waits for the page to be idle (at most IDLE_WAIT_MS), after the
 * tree is shown.
 *
 * `updates` (server-updates.ts) hands over the server's updates as received instead of Yjs
 * encoding them again; without it the document's 'update' event is used.
 */
export function makeLocalStore(doc: Y.Doc, workspace = 'main', updates?: DocUpdates): [LocalStore, () => void] {
  // The origin of what the store itself applies (the load; rows other tabs wrote, at compaction).
  const self = {}
  // The origin of the edits a page kept as it went away (unsavedKey): stored like the page's own.
  const restored = {}
  let db: IDBDatabase | null = null
  let closed = false
  /** Rows in the copy, and the key of the last row this page has applied or written. */
  let rows = 0
  let lastKey = 0
  /** A flush before the database opened dropped what it had gathered: the whole state is stored at open. */
  let dropped = false
  const opened = idb.openDB(localDocName(workspace), (d) =>
    idb.createStores(d, [[UPDATES, { autoIncrement: true }], ['custom']]),
  )
  const applyStored = (stored: Uint8Array[]) => {
    if (stored.length === 0) return
    if (updates) updates.applyStored(stored, self)
    else Y.transact(doc, () => stored.forEach((u) => Y.applyUpdate(doc, u)), self, false)
  }
  const whenLoaded = opened.then(async (d) => {
    const shape: CopyShape = { rows: 0, bytes: 0, largest: 0 }
    if (closed) {
      d.close()
      return shape
    }
    db = d
    mark('opened')
    const [store] = idb.transact(d, [UPDATES]) as [IDBObjectStore]
    // What the document held before the database opened (edits, another tab's state, the server's
    // first sync when there was no copy to wait for): stored first if a batch gathered meanwhile
    // was dropped (flush); batches still gathered are written by their own flush, so a first sync
    // arriving before the database opened is not encoded again here (~0.1 s at 5,000 labels).
    if (dropped && doc.store.clients.size > 0) void addRow(store, Y.encodeStateAsUpdate(doc))
    dropped = false
    const stored = (await idb.getAll(store)) as Uint8Array[]
    lastKey = Number((await idb.getLastKey(store)) ?? 0)
    mark('read')
    shape.rows = stored.length
    for (const u of stored) {
      shape.bytes += u.byteLength
      shape.largest = Math.max(shape.largest, u.byteLength)
    }
    rows = stored.length
    if (!closed) applyStored(stored)
    // Edits a page kept as it went away (unsavedKey): applied as edits of this page, so they are
    // stored like any (and sent to the server), then forgotten once that write committed.
    const unsaved = closed ? null : readUnsaved(unsavedKey(workspace))
    if (unsaved) {
      const forget = () => localStorage.removeItem(unsavedKey(workspace))
      Y.applyUpdate(doc, unsaved, restored)
      // Nothing new (the write had committed after all): the copy has it already.
      if (gathered.length === 0) forget()
      else flush(forget)
    }
    mark('applied')
    return shape
  })
  /**
   * Rewrites the copy as one row (the document's state) in one IndexedDB transaction: rows written
   * since this page last read (another tab's) are applied first, then every older row is deleted.
   */
  let compacting: Promise<void> | null = null
  const compact = (): Promise<void> => {
    if (compacting || !db || closed) return compacting ?? Promise.resolve()
    const [store] = idb.transact(db, [UPDATES]) as [IDBObjectStore]
    compacting = (async () => {
      const newer = (await idb.getAll(store, idb.createIDBKeyRangeLowerBound(lastKey, true))) as Uint8Array[]
      if (newer.length > 0) Y.transact(doc, () => newer.forEach((u) => Y.applyUpdate(doc, u)), self, false)
      const key = await addRow(store, Y.encodeStateAsUpdate(doc))
      await idb.del(store, idb.createIDBKeyRangeUpperBound(key, true))
      rows = 1
      lastKey = key
    })().finally(() => {
      compacting = null
    })
    return compacting
  }
  const whenIdle = (fn: () => void) =>
    typeof requestIdleCallback === 'function' ? requestIdleCallback(fn, { timeout: IDLE_WAIT_MS }) : setTimeout(fn, 0)
  // After the load, once the page is idle (the tree is shown first).
  whenLoaded.then(
    (shape) => needsCompaction(shape) && whenIdle(() => void compact()),
    () => {},
  )

  let gathered: Uint8Array[] = []
  let bytes = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let idle: number | null = null
  /** Updates handed to IndexedDB whose transaction has not completed yet. */
  const writing = new Set<Uint8Array>()
  /** Writes what was gathered in one IndexedDB transaction; `done` once it committed. */
  const flush = (done?: () => void) => {
    if (timer !== null) clearTimeout(timer)
    if (idle !== null) cancelIdleCallback(idle)
    timer = null
    idle = null
    bytes = 0
    if (gathered.length === 0) return
    // Before the database is open there is nothing to write to: the document's state is stored
    // when it opens (these updates included). Waiting would re-arm forever if the database never
    // opens, and write after close.
    if (!db || closed) {
      gathered = []
      dropped = !closed
      return
    }
    const update = gathered.length === 1 ? (gathered[0] as Uint8Array) : Y.mergeUpdates(gathered)
    gathered = []
    const [store] = idb.transact(db, [UPDATES]) as [IDBObjectStore]
    writing.add(update)
    store.transaction.addEventListener('complete', () => {
      writing.delete(update)
      done?.()
    })
    // A write that fails (aborted, a full disk) stays among `writing`: kept in localStorage as the
    // page goes away (unsavedKey), and meanwhile in the document, which the server gets.
    void addRow(store, update).then(
      (key) => {
        lastKey = Math.max(lastKey, key)
      },
      (e: unknown) => console.warn('labels: an edit could not be written to the local copy yet:', e),
    )
    if (++rows > COMPACT_ROWS) whenIdle(() => void compact())
  }
  const onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === self) return // what the store itself applied
    gathered.push(update)
    bytes += update.byteLength
    timer ??= setTimeout(flush, LOCAL_STORE_BATCH_MS)
    if (bytes > LOCAL_STORE_IDLE_BYTES && idle === null && typeof requestIdleCallback === 'function') {
      clearTimeout(timer)
      timer = setTimeout(flush, IDLE_WAIT_MS)
      idle = requestIdleCallback(() => flush(), { timeout: IDLE_WAIT_MS })
    }
  }
  const stopListening = updates ? updates.on(onUpdate) : (doc.on('update', onUpdate), () => doc.off('update', onUpdate))
  // Going away (or hidden, after which a page may be discarded): what is gathered is written, and
  // everything not yet committed is kept in localStorage too (unsavedKey). Gathered updates are
  // kept as well when the database is not open (flush drops them then: the state is stored at open).
  const leaving = () => {
    const pending = [...gathered, ...writing.values()]
    flush()
    if (pending.length > 0) keepUnsaved(unsavedKey(workspace), pending)
  }
  const onHidden = () => document.visibilityState === 'hidden' && leaving()
  window.addEventListener('pagehide', leaving)
  document.addEventListener('visibilitychange', onHidden)
  const close = () => {
    if (closed) return
    flush()
    closed = true
    doc.off('destroy', close)
    stopListening()
    window.removeEventListener('pagehide', leaving)
    document.removeEventListener('visibilitychange', onHidden)
    // Once a compaction (one IndexedDB transaction) is done; the data stays.
    void (compacting ?? Promise.resolve()).finally(() => db?.close())
  }
  doc.on('destroy', close)
  return [{ whenLoaded, flush }, close]
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
