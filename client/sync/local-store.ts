import { IndexeddbPersistence } from 'y-indexeddb'
import type * as Y from 'yjs'

/** The IndexedDB database holding a workspace document in this browser (per origin, so per server). */
export function localDocName(workspace: string): string {
  return `labels-workspace-${workspace}`
}

/**
 * Plain: keeps `doc` in IndexedDB with y-indexeddb: stored updates are applied on open, every
 * later update (local or from the server) is appended. `whenLoaded` resolves once the stored
 * document is in `doc`. Returns the store and its cleanup (closes the database; data stays).
 */
export function makeLocalStore(
  doc: Y.Doc,
  workspace = 'main',
): [{ whenLoaded: Promise<void>; persistence: IndexeddbPersistence }, () => void] {
  const persistence = new IndexeddbPersistence(localDocName(workspace), doc)
  const whenLoaded = persistence.whenSynced.then(() => undefined)
  return [{ whenLoaded, persistence }, () => void persistence.destroy()]
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
