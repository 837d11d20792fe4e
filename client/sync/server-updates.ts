import * as decoding from 'lib0/decoding'
import * as syncProtocol from 'y-protocols/sync'
import { messageSync, type WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

/** Gets the bytes of every change of the document, with its transaction's origin. */
export type UpdateListener = (update: Uint8Array, origin: unknown) => void

export interface DocUpdates {
  /** Adds a listener (like `doc.on('update')`); returns its removal. */
  on(fn: UpdateListener): () => void
  /**
   * Applies updates kept in this browser (the IndexedDB copy) in one transaction of `origin`,
   * which Yjs does not encode again for the 'update' listeners while the socket is not open.
   */
  applyStored(stored: readonly Uint8Array[], origin: unknown): void
}

/**
 * Plain: the document's updates for listeners that need their bytes (the IndexedDB copy), without
 * Yjs encoding again what the server sent. Yjs encodes every transaction for the document's
 * 'update' listeners when there are any; for the server's sync step 2 of a large workspace that
 * is the whole document once more (~0.3 s at 5,000 labels on a loaded machine, issue 9). So while
 * the provider applies a sync message the document has no 'update' listener (this one and the
 * provider's own, which ignores the server's updates anyway), and the listeners get the
 * message's update as received. The page's own transactions are encoded by Yjs as before.
 *
 * Other code must not listen to 'update' (use 'afterTransaction', which costs no encoding); were
 * a transaction of another origin to run while a message is applied (an observer writing), what
 * it and the message changed is handed over as one update and sent to the server.
 */
export function serverUpdates(doc: Y.Doc, provider: WebsocketProvider): [DocUpdates, () => void] {
  const listeners = new Set<UpdateListener>()
  const relay: UpdateListener = (update, origin) => {
    for (const fn of listeners) fn(update, origin)
  }
  doc.on('update', relay)
  const handle = provider.messageHandlers[messageSync]
  if (!handle) throw new Error('y-websocket has no sync message handler')
  provider.messageHandlers[messageSync] = (encoder, decoder, p, emitSynced, type) => {
    const peek = decoding.clone(decoder)
    const kind = decoding.readVarUint(peek)
    if (kind !== syncProtocol.messageYjsSyncStep2 && kind !== syncProtocol.messageYjsUpdate)
      return handle(encoder, decoder, p, emitSynced, type)
    const update = decoding.readVarUint8Array(peek)
    const before = Y.encodeStateVector(doc)
    let applied = false
    let others = false
    const watch = (tr: Y.Transaction) => {
      if (!changed(tr)) return
      if (tr.origin === provider) applied = true
      else others = true
    }
    doc.off('update', relay)
    doc.off('update', provider._updateHandler)
    doc.on('afterTransaction', watch)
    try {
      handle(encoder, decoder, p, emitSynced, type)
    } finally {
      doc.off('afterTransaction', watch)
      doc.on('update', relay)
      doc.on('update', provider._updateHandler)
    }
    // A message that brought nothing new (the server's whole document, in answer to a sync step 1
    // sent before this page's IndexedDB copy was loaded) is not handed over: the copy would store
    // the whole document once more at every reload (issue 9, the IndexedDB reload path). One that
    // Yjs holds back (waiting for structs it depends on) is handed over, as it is kept in the doc.
    if (applied || doc.store.pendingStructs !== null || doc.store.pendingDs !== null) relay(update, provider)
    if (others) {
      const missed = Y.encodeStateAsUpdate(doc, before)
      relay(missed, null)
      provider._updateHandler(missed, null)
    }
  }
  return [
    {
      on(fn) {
        listeners.add(fn)
        return () => listeners.delete(fn)
      },
      applyStored(stored, origin) {
        applyQuietly(doc, provider, relay, stored, origin)
      },
    },
    () => {
      provider.messageHandlers[messageSync] = handle
      doc.off('update', relay)
      listeners.clear()
    },
  ]
}

/**
 * The copy's load (one transaction) with no 'update' listener when Yjs would encode it: the
 * relay's listeners ignore what the copy itself loaded, and the server gets what it lacks of the
 * copy in the page's sync step 2 once the socket opens. Encoded, it was the whole document once
 * more (~0.3 s of the main thread at 5,000 labels under load, issue 9). The listeners are back as
 * soon as that transaction's 'update' would have been emitted: transactions that observers make
 * while the copy loads are encoded and handed over as usual (holding the listeners until all
 * transactions ended lost an offline draft's writes). With the socket open (the copy took longer
 * than LOCAL_FIRST_MS) its sync may have gone already: the load is encoded and sent as before.
 * Other tabs get the copy's content through the server (they share the copy anyway).
 */
function applyQuietly(
  doc: Y.Doc,
  provider: WebsocketProvider,
  relay: UpdateListener,
  stored: readonly Uint8Array[],
  origin: unknown,
): void {
  let load: Y.Transaction | null = null
  const apply = () =>
    Y.transact(
      doc,
      (tr) => {
        load = tr
        for (const u of stored) Y.applyUpdate(doc, u)
      },
      origin,
      false,
    )
  // Called inside another transaction, the load joins it; `release` (finally, below) runs before
  // that transaction's cleanup, so it is encoded and handed over as usual (no internals needed to
  // tell: tests/client/server-updates.test.ts).
  if (provider.wsconnected) return apply()
  let held = false
  // Emitted right before Yjs checks for 'update' listeners, for each transaction.
  const hold = (tr: Y.Transaction) => {
    if (tr !== load) return
    held = true
    doc.off('update', relay)
    doc.off('update', provider._updateHandler)
  }
  // The next transaction's observers (one an observer of the load made), or the end of them all.
  const release = () => {
    if (!held) return
    held = false
    doc.on('update', relay)
    doc.on('update', provider._updateHandler)
  }
  doc.on('afterTransactionCleanup', hold)
  doc.on('beforeObserverCalls', release)
  doc.on('afterAllTransactions', release)
  try {
    apply()
  } finally {
    release()
    doc.off('afterTransactionCleanup', hold)
    doc.off('beforeObserverCalls', release)
    doc.off('afterAllTransactions', release)
  }
}

/** True when a transaction wrote something (new structs or deletions). */
function changed(tr: Y.Transaction): boolean {
  if (tr.deleteSet.clients.size > 0) return true
  for (const [client, clock] of tr.afterState) if (tr.beforeState.get(client) !== clock) return true
  return false
}
