import * as Y from 'yjs'
import type { LabelInput } from '../../../shared/schemas/label.ts'
import { ensureDefaultGroup, type DocOrigin } from '../../../shared/doc/index.ts'

export const local = (actor = 'alice'): DocOrigin => ({ kind: 'local', actor })

/** A server-initialised document (Default group present), as a client sees it after sync. */
export function newWorkspaceDoc(): Y.Doc {
  const doc = new Y.Doc()
  ensureDefaultGroup(doc, { kind: 'server', actor: 'server' }, new Date('2024-01-01T00:00:00Z'))
  return doc
}

/** A replica of `base` (same state, its own client id). */
export function replicaOf(base: Y.Doc): Y.Doc {
  const d = new Y.Doc()
  Y.applyUpdate(d, Y.encodeStateAsUpdate(base))
  return d
}

/** Brings a and b to the same state both ways. */
export function sync(a: Y.Doc, b: Y.Doc): void {
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
}

export function labelInput(name: string, extra: Partial<LabelInput> = {}): LabelInput {
  return {
    name,
    displayName: name.toUpperCase(),
    dataType: 'number',
    labelType: 'static',
    rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
    ...extra,
  }
}
