import { batch, createSignal, onCleanup, type Accessor } from 'solid-js'
import { createStore, unwrap } from 'solid-js/store'
import type * as Y from 'yjs'
import { LabelsError } from '../../shared/errors.ts'
import { CollabClose } from '../../shared/doc/close-codes.ts'
import type { DocOrigin } from '../../shared/doc/origin.ts'
import { transactionScope } from '../../shared/doc/drafts.ts'
import { trackProjection, type ProjectedLabel, type WorkspaceProjection } from '../../shared/doc/projection.ts'
import type { GroupNode } from '../../shared/schemas/group.ts'
import type { Me } from '../api/types.ts'
import { applyProjection, initialProjection } from './apply-projection.ts'
import { makeCollabConnection } from './collab-connection.ts'
import { reportServerUp } from './connectivity.ts'
import { hasLocalCopy, makeLocalStore, readOfflineRecord, writeOfflineRecord } from './local-store.ts'
import { createPresence, type Presence } from './presence.ts'
import { createUndo, type Undo } from './undo.ts'

/** The longest the socket waits for the local copy to load before it opens anyway (ms). */
const LOCAL_FIRST_MS = 3000

export type SyncStatus = 'connecting' | 'connected' | 'disconnected' | 'unauthorized' | 'unavailable'

export interface Workspace {
  /** The projected workspace (groups tree, labels, duplicates) as a Solid store. */
  view: WorkspaceProjection
  /**
   * `view.labels` as the plain array behind the store, signalled whenever any label changes: for
   * code that reads every label (the tree's filter index, the overview's rows). Through the store
   * each label read is a signal and a subscription: 5,000 of each per reader at load (issue 9).
   */
  labels: Accessor<readonly ProjectedLabel[]>
  /**
   * `view.groups` as the projection's plain tree (not to be written), signalled whenever any group
   * changes: for code that walks every group (the tree's filter). A walk through the store read
   * 500 groups' fields as signals, and each keystroke then unsubscribed and subscribed them all again.
   */
  groups: Accessor<readonly GroupNode[]>
  status: Accessor<SyncStatus>
  /** True while the document is in step with the server (first sync done, connection up). */
  synced: Accessor<boolean>
  /**
   * True once there is a document to edit: loaded from this browser's IndexedDB copy or synced
   * with the server. Edits are enabled from then on, offline included; they merge on reconnect.
   */
  ready: Accessor<boolean>
  /** Local edits the server has not acknowledged yet (survives a reload). */
  pending: Accessor<number>
  /** When this page lost the server (ms since epoch; survives a reload), null while connected. */
  offlineSince: Accessor<number | null>
  /** This operator's undo/redo (own edits only). */
  undo: Undo
  presence: Presence
  /** Runs one shared/doc operation with a local origin; LabelsError is reported and returned as null. */
  edit<T>(op: (doc: Y.Doc, origin: DocOrigin) => T): T | null
  doc: Y.Doc
}

/**
 * Reactive: connects to the collaborative workspace document and mirrors its projection in a
 * store, brought up to date after every update (local or remote) with what it touched. Every write goes through
 * `edit(op)`, i.e. one shared/doc operation = one transaction; there are no raw Y writes here.
 */
export function createWorkspace(token: string, me: Me, onError: (e: LabelsError) => void): Workspace {
  // The socket opens once the copy kept in this browser is in the document (below).
  const [conn, cleanup] = makeCollabConnection(token, 'main', { connect: false })
  const { doc, provider } = conn
  // Asked before the copy's database is opened below, which creates it when there is none.
  const copyKept = hasLocalCopy('main')
  // The copy kept in this browser: a reload or a cold start without network opens from it.
  const [local, closeLocal] = makeLocalStore(doc, 'main', conn.updates)
  // Only what transactions touched is projected again (shared/doc trackProjection), and only
  // that is written to the store (apply-projection.ts).
  const tracked = trackProjection(doc)
  const [view, setView] = createStore<WorkspaceProjection>(initialProjection(tracked.project(null)))
  const [labels, setLabels] = createSignal<readonly ProjectedLabel[]>(unwrap(view).labels, { equals: false })
  // A changed group makes a new groups tree in the projection (shared/doc trackProjection), whose
  // objects are new: the store reconciles its own copy in place, this keeps the projection's.
  const [groups, setGroups] = createSignal<readonly GroupNode[]>(unwrap(view).groups, { equals: false })
  let scheduled = false
  // Bursts of updates (initial sync, a remote multi-op) are projected once per microtask. An
  // update that only wrote inside drafts (every draft keystroke) changes nothing projected here:
  // the drafts have their own store (features/labels/draft-state.ts). After each transaction, not
  // on 'update': that would have Yjs encode the server's updates again (sync/server-updates.ts).
  const onUpdate = (tr: Y.Transaction) => {
    if (scheduled || !transactionScope(tr).workspace) return
    scheduled = true
    queueMicrotask(() => {
      scheduled = false
      batch(() => {
        const prev = unwrap(view)
        const next = tracked.project(prev)
        const groupsChanged = next.groups !== prev.groups
        // Replaced, or written in place (a label changed where it was): the store's array now.
        if (applyProjection(view, setView, next)) setLabels(unwrap(view).labels)
        if (groupsChanged) setGroups(next.groups)
      })
    })
  }
  doc.on('afterTransaction', onUpdate)
  const [status, setStatus] = createSignal<SyncStatus>('connecting')
  const [synced, setSynced] = createSignal(false)
  // There is a document to edit once the IndexedDB copy brought one, or the server did (then
  // for good: losing the server later keeps it). An empty copy (first visit) waits for the server.
  const [ready, setReady] = createSignal(false)
  // The socket opens after the copy is loaded (or could not be, or takes over LOCAL_FIRST_MS):
  // the sync step 1 then carries the copy's state vector and the server sends only what the copy
  // lacks. Opened at once, the server's whole document (~2.6 MB at 5,000 labels) arrived while
  // the copy was loading and was decoded a second time (issue 9, the IndexedDB reload path).
  // Why it started is marked in the page's timeline (`labels:socket-start`, detail: the cause).
  let started = false
  const start = (why: 'copy-loaded' | 'copy-failed' | 'no-copy' | 'timeout') => {
    if (started) return
    started = true
    clearTimeout(startAnyway)
    performance.mark?.('labels:socket-start', { detail: why })
    if (navigator.onLine) provider.connect() // offline: the 'online' event connects
  }
  const startAnyway = setTimeout(() => start('timeout'), LOCAL_FIRST_MS)
  // No copy in this browser (a first visit, storage cleared): nothing to wait for, the socket
  // opens at once instead of after the database is created (issue 9, load → interactive).
  void copyKept.then((kept) => kept === false && start('no-copy'))
  local.whenLoaded.then(
    () => {
      if (doc.getMap('groups').size > 0) setReady(true)
      start('copy-loaded')
    },
    (e: unknown) => {
      console.warn('the local copy of the workspace could not be opened:', e)
      start('copy-failed')
    },
  )
  const record = readOfflineRecord()
  const [pending, setPending] = createSignal(record.pending)
  const [offlineSince, setOfflineSince] = createSignal<number | null>(record.since)
  const remember = () => writeOfflineRecord({ pending: pending(), since: offlineSince() })
  const lostServer = () => {
    if (offlineSince() === null) setOfflineSince(Date.now())
    remember()
  }
  provider.on('status', (e: { status: 'connected' | 'disconnected' | 'connecting' }) => {
    if (status() === 'unauthorized' || status() === 'unavailable') return
    setStatus(e.status)
    if (e.status === 'connected') reportServerUp(true)
  })
  provider.on('sync', (s: boolean) => {
    setSynced(s)
    if (!s) return
    setReady(true)
    // The server answered our sync step 1. Our own step 2 (everything the server lacked) went
    // out before, in reply to the server's step 1, so nothing waits in this page any more. Were
    // the socket to drop before the server stored it, the copy in IndexedDB still has it and
    // the next sync sends it again (state vectors, not this count, decide what is sent).
    setPending(0)
    setOfflineSince(null)
    remember()
  })
  provider.on('connection-close', (e: CloseEvent | null) => {
    if (e?.code === CollabClose.unauthorized) setStatus('unauthorized')
    else if (e?.code === CollabClose.unavailable) setStatus('unavailable')
    reportServerUp(false)
    lostServer()
  })
  // Every local transaction made while not in step with the server waits to be sent.
  const onTransaction = (tr: Y.Transaction) => {
    if (!tr.local || tr.changed.size === 0 || synced()) return
    setPending(pending() + 1)
    remember()
  }
  doc.on('afterTransaction', onTransaction)
  // The browser says the network is gone: close the socket now rather than wait for the
  // provider's 30 s silence timeout (an open socket may linger), and reconnect when it is back.
  const onOffline = () => {
    provider.disconnect()
    setStatus('disconnected')
    reportServerUp(false)
    lostServer()
  }
  const onOnline = () => provider.connect()
  window.addEventListener('offline', onOffline)
  window.addEventListener('online', onOnline)
  if (!navigator.onLine) onOffline()
  const presence = createPresence(provider.awareness, me)
  const origin: DocOrigin = { kind: 'local', actor: me.name }
  const undo = createUndo(doc, origin)
  onCleanup(() => {
    window.removeEventListener('offline', onOffline)
    window.removeEventListener('online', onOnline)
    doc.off('afterTransaction', onUpdate)
    tracked.stop()
    doc.off('afterTransaction', onTransaction)
    started = true // a copy loaded after this does not open a socket
    clearTimeout(startAnyway)
    closeLocal()
    cleanup()
  })
  return {
    view,
    labels,
    groups,
    status,
    synced,
    ready,
    pending,
    offlineSince,
    undo,
    presence,
    doc,
    edit(op) {
      try {
        return op(doc, origin)
      } catch (e) {
        if (e instanceof LabelsError) {
          onError(e)
          return null
        }
        throw e
      }
    },
  }
}
