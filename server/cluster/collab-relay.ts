import type { SqlExecutor } from '../../engine/sql-executor.ts'
import type { DocRegistry } from '../collab/doc-registry.ts'
import type { SqlDocStoreOptions } from '../collab/doc-store.ts'
import type { LiveDocOptions } from '../collab/live-doc.ts'
import type { ClusterBus } from './bus.ts'

const b64 = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('base64')
const unb64 = (s: unknown) => new Uint8Array(Buffer.from(String(s), 'base64'))

/**
 * Collaboration across processes (issue 11). A Yjs update is integrated and stored by the process
 * its client (or REST call) reached; in the same transaction as its row, that process notifies the
 * others (`collab.update`), which apply it as is — no creation stamps, no repair, not stored
 * again — and relay it to their own clients. Presence (`collab.awareness`) is relayed the same
 * way, not stored. After a lost connection every loaded document re-reads the store.
 */
export const collabStoreHooks = (bus: ClusterBus): SqlDocStoreOptions => ({
  afterAppend: (tx: SqlExecutor, ws: string, seq: number, update: Uint8Array) =>
    bus.publish({ type: 'collab.update', ws, seq, u: b64(update) }, tx),
})

/** LiveDoc options of a document several processes serve. */
export const collabDocOptions = (bus: ClusterBus): NonNullable<LiveDocOptions['cluster']> => ({
  publishAwareness: (ws, update) => {
    bus.publish({ type: 'collab.awareness', ws, u: b64(update) }).catch(() => {
      // Presence is renewed every 15 s by its client: a lost one is resent soon.
    })
  },
})

/** Applies what the other processes store and relay to this process's documents. */
export function attachCollabRelay(bus: ClusterBus, registry: DocRegistry): () => void {
  const offs = [
    bus.on('collab.update', async (m) => {
      const held = registry.held(String(m.ws))
      if (held) (await held).applyStored(unb64(m.u))
    }),
    bus.on('collab.awareness', async (m) => {
      const held = registry.held(String(m.ws))
      if (held) (await held).applyAwareness(unb64(m.u))
    }),
    bus.onReconnect(() => {
      for (const live of registry.loadedDocs()) void live.resync()
    }),
  ]
  return () => {
    for (const off of offs) off()
  }
}
