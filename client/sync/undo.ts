import { createSignal, onCleanup, type Accessor } from 'solid-js'
import * as Y from 'yjs'

/** Root maps an operator's undo covers: the tree and label definitions, and shared drafts. */
export const UNDO_ROOTS = ['groups', 'labels', 'drafts'] as const

/** Edits closer together than this merge into one undo step (typing in a draft field). */
export const CAPTURE_MS = 500

/**
 * Plain: a Y.UndoManager over the workspace's root maps that tracks only transactions whose
 * origin is `origin` (this page's `edit()` origin object), so an operator undoes their own
 * edits, never another operator's, a REST write or a server repair. Draft edits within
 * CAPTURE_MS merge into one step; a tree or definition edit (groups/labels) is always a step
 * of its own. Returns the manager and its cleanup.
 */
export function makeUndoManager(doc: Y.Doc, origin: object, captureTimeout = CAPTURE_MS): [Y.UndoManager, () => void] {
  const roots = UNDO_ROOTS.map((n) => doc.getMap(n))
  // biome-ignore lint/suspicious/noExplicitAny: Y's own type for "any shared type"
  type AnyType = Y.AbstractType<any>
  const tree = new Set<AnyType>([doc.getMap('groups'), doc.getMap('labels')])
  const um = new Y.UndoManager(roots, { trackedOrigins: new Set([origin]), captureTimeout })
  // Runs after the UndoManager's own afterTransaction handler (registered first), so the
  // tree edit has been captured; stopping now keeps the next edit out of its step. A
  // transaction's changedParentTypes holds every changed type and all its ancestors, roots
  // included (Yjs fills it before afterTransaction), so a tree edit is one lookup per root.
  const onAfter = (tr: Y.Transaction) => {
    if (tr.origin !== origin) return
    for (const t of tree) {
      if (tr.changedParentTypes.has(t)) {
        um.stopCapturing()
        return
      }
    }
  }
  doc.on('afterTransaction', onAfter)
  return [
    um,
    () => {
      doc.off('afterTransaction', onAfter)
      um.destroy()
    },
  ]
}

export interface Undo {
  undo(): void
  redo(): void
  canUndo: Accessor<boolean>
  canRedo: Accessor<boolean>
  /** Ends the current step: the next edit starts a new one. */
  stopCapturing(): void
}

/** Reactive: makeUndoManager plus canUndo/canRedo signals; destroyed with the owner. */
export function createUndo(doc: Y.Doc, origin: object): Undo {
  const [um, cleanup] = makeUndoManager(doc, origin)
  const [canUndo, setCanUndo] = createSignal(false)
  const [canRedo, setCanRedo] = createSignal(false)
  const refresh = () => {
    setCanUndo(um.canUndo())
    setCanRedo(um.canRedo())
  }
  for (const e of ['stack-item-added', 'stack-item-popped', 'stack-cleared', 'stack-item-updated'] as const)
    um.on(e, refresh)
  onCleanup(cleanup)
  return {
    undo: () => void um.undo(),
    redo: () => void um.redo(),
    canUndo,
    canRedo,
    stopCapturing: () => um.stopCapturing(),
  }
}
