import * as Y from 'yjs'
import { labelsOf } from './shape.ts'

/** Label ids created, updated (any field) and deleted by one or more transactions. */
export interface LabelChanges {
  created: string[]
  updated: string[]
  deleted: string[]
}

export const noLabelChanges = (c: LabelChanges): boolean => c.created.length + c.updated.length + c.deleted.length === 0

/**
 * Classifies the labels a transaction touched against the set of ids seen so far, so the
 * engine hook learns "new static label" vs "edited" vs "gone" whatever the update's source.
 * Returns `take(transaction)`; the tracker starts from the document's current labels.
 *
 * Only public Yjs API: a deep observer on the labels map records, per transaction, the keys it
 * changed (`keysChanged` on the map itself, `path[0]` for a change inside a label's map).
 * Observers run before `afterTransaction` and `update` listeners, where `take` is called.
 */
export function makeLabelChangeTracker(doc: Y.Doc): { take(tr: Y.Transaction): LabelChanges } {
  const labels = labelsOf(doc)
  const known = new Set<string>()
  labels.forEach((v, id) => v instanceof Y.Map && known.add(id))
  const touchedBy = new WeakMap<Y.Transaction, Set<string>>()
  labels.observeDeep((events, tr) => {
    let touched = touchedBy.get(tr)
    if (!touched) touchedBy.set(tr, (touched = new Set()))
    for (const e of events) {
      if (e.target === labels && e instanceof Y.YMapEvent) e.keysChanged.forEach((k: string) => touched.add(k))
      else if (typeof e.path[0] === 'string') touched.add(e.path[0])
    }
  })
  return {
    take(tr) {
      const touched = touchedBy.get(tr) ?? new Set<string>()
      touchedBy.delete(tr) // a second take of the same transaction reports nothing new
      const out: LabelChanges = { created: [], updated: [], deleted: [] }
      for (const id of [...touched].sort()) {
        const exists = labels.get(id) instanceof Y.Map
        if (exists && !known.has(id)) known.add(id), out.created.push(id)
        else if (exists) out.updated.push(id)
        else if (known.delete(id)) out.deleted.push(id)
      }
      return out
    },
  }
}
