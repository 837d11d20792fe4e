import { batch } from 'solid-js'
import { reconcile, unwrap, type SetStoreFunction } from 'solid-js/store'
import type { ProjectedLabel, WorkspaceProjection } from '../../shared/doc/projection.ts'

const byId = { key: 'id', merge: false } as const

/**
 * The store keeps each label as a value, replaced whole when it changes, not as a nested store:
 * an object whose prototype is not Object.prototype is one Solid does not wrap. Reading a label's
 * fields is then a plain read (the overview reads every field of every label, the filter every
 * name): through store proxies that was a signal per field per label, and every label handed to
 * the store was walked field by field by unwrap(). Readers still track the labels array (and each
 * index), which changes whenever a label does.
 */
class LabelValue {}

function asValue(l: ProjectedLabel): ProjectedLabel {
  if (Object.getPrototypeOf(l) === Object.prototype) Object.setPrototypeOf(l, LabelValue.prototype)
  return l
}

/** The first projection, ready for createStore. */
export function initialProjection(p: WorkspaceProjection): WorkspaceProjection {
  p.labels.forEach(asValue)
  return p
}

/**
 * Brings the workspace store to `next`, a projection from shared/doc trackProjection made from the
 * store's own state (`unwrap(view)`). What `next` shares with that state by identity is not looked
 * at: reconcile() over the whole projection walked every label's every field (and unwrap() copied
 * through all of them) on each update, ~O(labels) deep work per keystroke of a remote operator.
 *
 * - a label that changed replaces the store's value at its index, a new one is added, a deleted
 *   one dropped; the labels array is replaced only when its order or members changed;
 * - groups, groupsById, duplicates and repairs are reconciled when they are new objects.
 *
 * Returns true when any label was written (added, dropped, replaced or moved).
 */
export function applyProjection(
  view: WorkspaceProjection,
  setView: SetStoreFunction<WorkspaceProjection>,
  next: WorkspaceProjection,
): boolean {
  const prev = unwrap(view)
  if (next === prev) return false
  let wrote = false
  batch(() => {
    if (next.groupsById !== prev.groupsById) setView('groupsById', reconcile(next.groupsById, byId))
    if (next.groups !== prev.groups) setView('groups', reconcile(next.groups, byId))
    if (next.labels !== prev.labels) {
      const at = new Map(prev.labels.map((l, i) => [l.id, i]))
      let same = next.labels.length === prev.labels.length
      for (let j = 0; j < next.labels.length; j++) {
        const l = next.labels[j] as ProjectedLabel
        const i = at.get(l.id)
        if (i !== j) same = false
        if (l === prev.labels[i ?? -1]) continue
        asValue(l)
        if (same) setView('labels', j, l)
        wrote = true
      }
      if (!same) setView('labels', next.labels)
      wrote ||= !same
    }
    if (next.duplicates !== prev.duplicates) setView('duplicates', reconcile(next.duplicates, byId))
    if (next.repairs !== prev.repairs) setView('repairs', reconcile(next.repairs, byId))
  })
  return wrote
}
