import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'

/**
 * The y-websocket sync step 2 frame for a client that has nothing yet (an empty state vector: a
 * page opened without its IndexedDB copy), encoded once per version of the document instead of
 * once per connection: at 5,000 labels it is the whole document, ~2.6 MB, and encoding it took
 * tens of ms of the server's event loop for every page load (issue 9, "Scale"). Any transaction
 * on the document drops the frame (a deletion changes no state vector, so the state vector can't
 * tell a version). Other state vectors are answered as before.
 * The bytes are those syncProtocol.writeSyncStep2 writes: the protocol is unchanged.
 */
export interface Step2Cache {
  /** The whole frame (message type, step 2, update) answering `stateVector`. */
  frame(stateVector: Uint8Array): Uint8Array
  /** How many full-state frames were encoded (tests; stats). */
  readonly encoded: number
  stop(): void
}

const caches = new WeakMap<Y.Doc, Step2Cache>()

/** The document's cache, made on first use and kept as long as the document is. */
export function step2CacheOf(doc: Y.Doc, messageSync = 0): Step2Cache {
  let c = caches.get(doc)
  if (!c) caches.set(doc, (c = makeStep2Cache(doc, messageSync)))
  return c
}

/** Plain: a cache for `doc` (its afterTransaction listener is removed by stop()). */
export function makeStep2Cache(doc: Y.Doc, messageSync = 0): Step2Cache {
  /** The full-state frame of the current version; dropped by any transaction (so not held for nothing). */
  let full: Uint8Array | null = null
  let encoded = 0
  const bump = () => {
    full = null
  }
  doc.on('afterTransaction', bump)
  const write = (stateVector: Uint8Array) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, messageSync)
    syncProtocol.writeSyncStep2(e, doc, stateVector)
    return encoding.toUint8Array(e)
  }
  return {
    frame(stateVector) {
      if (Y.decodeStateVector(stateVector).size > 0) return write(stateVector)
      if (full === null) {
        full = write(stateVector)
        encoded++
      }
      return full
    },
    get encoded() {
      return encoded
    },
    stop() {
      doc.off('afterTransaction', bump)
      caches.delete(doc)
    },
  }
}
