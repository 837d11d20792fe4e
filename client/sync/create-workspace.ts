import { createSignal, onCleanup, type Accessor } from 'solid-js'
import { createStore, reconcile } from 'solid-js/store'
import type * as Y from 'yjs'
import { LabelsError } from '../../shared/errors.ts'
import { CollabClose } from '../../shared/doc/close-codes.ts'
import type { DocOrigin } from '../../shared/doc/origin.ts'
import { projectWorkspace, type WorkspaceProjection } from '../../shared/doc/projection.ts'
import type { Me } from '../api/types.ts'
import { makeCollabConnection } from './collab-connection.ts'
import { createPresence, type Presence } from './presence.ts'

export type SyncStatus = 'connecting' | 'connected' | 'disconnected' | 'unauthorized' | 'unavailable'

export interface Workspace {
  /** The projected workspace (groups tree, labels, duplicates) as a Solid store. */
  view: WorkspaceProjection
  status: Accessor<SyncStatus>
  /** True once the first sync with the server completed (edits are enabled then). */
  synced: Accessor<boolean>
  presence: Presence
  /** Runs one shared/doc operation with a local origin; LabelsError is reported and returned as null. */
  edit<T>(op: (doc: Y.Doc, origin: DocOrigin) => T): T | null
  doc: Y.Doc
}

/**
 * Reactive: connects to the collaborative workspace document and mirrors its projection in a
 * store, re-projected after every update (local or remote). Every write goes through
 * `edit(op)`, i.e. one shared/doc operation = one transaction; there are no raw Y writes here.
 */
export function createWorkspace(token: string, me: Me, onError: (e: LabelsError) => void): Workspace {
  const [conn, cleanup] = makeCollabConnection(token)
  const { doc, provider } = conn
  const [view, setView] = createStore<WorkspaceProjection>(projectWorkspace(doc))
  let scheduled = false
  // Bursts of updates (initial sync, a remote multi-op) are projected once per microtask.
  const onUpdate = () => {
    if (scheduled) return
    scheduled = true
    queueMicrotask(() => {
      scheduled = false
      setView(reconcile(projectWorkspace(doc), { key: 'id', merge: false }))
    })
  }
  doc.on('update', onUpdate)
  const [status, setStatus] = createSignal<SyncStatus>('connecting')
  const [synced, setSynced] = createSignal(false)
  provider.on('status', (e: { status: 'connected' | 'disconnected' | 'connecting' }) => {
    if (status() === 'unauthorized' || status() === 'unavailable') return
    setStatus(e.status)
  })
  provider.on('sync', (s: boolean) => setSynced(s))
  provider.on('connection-close', (e: CloseEvent | null) => {
    if (e?.code === CollabClose.unauthorized) setStatus('unauthorized')
    else if (e?.code === CollabClose.unavailable) setStatus('unavailable')
  })
  const presence = createPresence(provider.awareness, me)
  onCleanup(() => {
    doc.off('update', onUpdate)
    cleanup()
  })
  const origin: DocOrigin = { kind: 'local', actor: me.name }
  return {
    view,
    status,
    synced,
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
