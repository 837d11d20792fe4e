import { batch } from 'solid-js'
import { reconcile, unwrap, type SetStoreFunction } from 'solid-js/store'
import type { WorkspaceProjection } from '../../shared/doc/projection.ts'

const byId = { key: 'id', merge: false } as const

/**
 * Brings the workspace store to `next`, a projection from shared/doc trackProjection made from the
 * store's own state (`unwrap(view)`). What `next` shares with that state by identity is not looked
 * at: reconcile() over the whole projection walked every label's every field (and unwrap() copied
 * through all of them) on each update, ~O(labels) deep work per keystroke of a remote operator.
 *
 * - a label that changed is reconciled into the store's object for it (its proxy stays; only the
 *   fields that changed notify), a new one is added, a deleted one dropped;
 * - the labels array is replaced only when its order or members changed (then with the store's
 *   existing proxies, so unwrap() does not walk them);
 * - groups, groupsById, duplicates and repairs are reconciled when they are new objects.
 */
export function applyProjection(
  view: WorkspaceProjection,
  setView: SetStoreFunction<WorkspaceProjection>,
  next: WorkspaceProjection,
): void {
  const prev = unwrap(view)
  if (next === prev) return
  batch(() => {
    if (next.groupsById !== prev.groupsById) setView('groupsById', reconcile(next.groupsById, byId))
    if (next.groups !== prev.groups) setView('groups', reconcile(next.groups, byId))
    if (next.labels !== prev.labels) {
      const at = new Map(prev.labels.map((l, i) => [l.id, i]))
      let same = next.labels.length === prev.labels.length
      const labels = next.labels.map((l, j) => {
        const i = at.get(l.id)
        if (i === undefined) {
          same = false
          return l
        }
        if (i !== j) same = false
        if (l !== prev.labels[i]) setView('labels', i, reconcile(l, byId))
        return view.labels[i] as (typeof next.labels)[number]
      })
      if (!same) setView('labels', labels)
    }
    if (next.duplicates !== prev.duplicates) setView('duplicates', reconcile(next.duplicates, byId))
    if (next.repairs !== prev.repairs) setView('repairs', reconcile(next.repairs, byId))
  })
}
