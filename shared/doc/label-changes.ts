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
 */
export function makeLabelChangeTracker(doc: Y.Doc): { take(tr: Y.Transaction): LabelChanges } {
  const labels = labelsOf(doc)
  const known = new Set<string>()
  labels.forEach((v, id) => v instanceof Y.Map && known.add(id))
  return {
    take(tr) {
      const touched = new Set<string>()
      for (const [type, keys] of tr.changed) {
        if (type === (labels as unknown)) keys.forEach((k) => k !== null && touched.add(k))
        else if (type.parent === labels && type._item?.parentSub) touched.add(type._item.parentSub)
      }
      const out: LabelChanges = { created: [], updated: [], deleted: [] }
      for (const id of [...touched].sort()) {
        const exists = labels.get(id) instanceof Y.Map
        if (exists && !known.has(id)) (known.add(id), out.created.push(id))
        else if (exists) out.updated.push(id)
        else if (known.delete(id)) out.deleted.push(id)
      }
      return out
    },
  }
}
