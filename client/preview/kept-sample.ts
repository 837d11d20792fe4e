import type { LoadedSample } from './preview-protocol.ts'

/**
 * A workspace sample kept for the next start and for offline use: the preview database's data
 * directory as one tarball (PGlite `dumpDataDir`) and what it holds, written in one IndexedDB
 * transaction (so a copy is complete or absent) into a database of its own named `name`.
 * Starting from it is PGlite's `loadDataDir` into memory: no initdb, no sample download.
 */
export interface KeptSample {
  info: LoadedSample
  dump: Blob
}

const STORE = 'sample'
const KEY = 'kept'

function openDb(name: string, create: boolean): Promise<IDBDatabase | null> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1)
    req.onupgradeneeded = () => {
      if (!create) {
        req.transaction?.abort() // there is none: leave no empty database behind
        return
      }
      req.result.createObjectStore(STORE)
    }
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => (create ? reject(req.error ?? new Error(`IndexedDB ${name} did not open`)) : resolve(null))
  })
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'))
  })
}

/** Writes the copy `name`; resolves once it is stored. */
export async function putKept(name: string, kept: KeptSample): Promise<void> {
  const db = (await openDb(name, true)) as IDBDatabase
  try {
    const tx = db.transaction(STORE, 'readwrite')
    tx.objectStore(STORE).put(kept, KEY)
    await done(tx)
  } finally {
    db.close()
  }
}

/** The copy `name`, or null when there is none. */
export async function getKept(name: string): Promise<KeptSample | null> {
  const db = await openDb(name, false)
  if (!db) return null
  try {
    if (!db.objectStoreNames.contains(STORE)) return null
    const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(KEY)
    const kept = await new Promise<unknown>((resolve, reject) => {
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error ?? new Error('IndexedDB read failed'))
    })
    const k = kept as Partial<KeptSample> | undefined
    return k?.info && k.dump instanceof Blob ? (k as KeptSample) : null
  } finally {
    db.close()
  }
}
