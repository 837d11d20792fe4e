import { labelsIn, siblingsOf, type WorkspaceProjection } from '../../../shared/doc/projection.ts'
import { placementRefusal } from '../../../shared/group-moves.ts'

/** Where on a row the pointer is: the upper quarter, the lower quarter, or the middle. */
export type DropZone = 'before' | 'after' | 'into'

export type DropPlan<T> = ({ ok: true } & T) | { ok: false; reason: string }

/** The zone from the pointer's offset within a row of the given height (groups accept 'into' in the middle). */
export function zoneAt(offsetY: number, height: number, allowInto: boolean): DropZone {
  const f = height > 0 ? offsetY / height : 0.5
  if (!allowInto) return f < 0.5 ? 'before' : 'after'
  return f < 0.25 ? 'before' : f > 0.75 ? 'after' : 'into'
}

/**
 * Where a dragged group would land when dropped on a group row, by the rules the server enforces
 * (docs/model.md#group-rules, shared/group-moves.ts). A refusal carries the reason to show while hovering.
 */
export function planGroupDrop(
  p: WorkspaceProjection,
  dragId: string,
  targetId: string,
  zone: DropZone,
): DropPlan<{ parentId: string | null; index: number }> {
  const drag = p.groupsById[dragId]
  const target = p.groupsById[targetId]
  if (!drag || !target) return { ok: false, reason: 'that group no longer exists' }
  if (dragId === targetId) return { ok: false, reason: '' }
  const parentId = zone === 'into' ? target.id : target.parentId
  const refusal = parentId === null ? null : placementRefusal(p.groupsById, parentId, drag)
  if (refusal) return { ok: false, reason: refusal.hint }
  const siblings = siblingsOf(p, parentId, dragId)
  if (zone === 'into') return { ok: true, parentId, index: siblings.length }
  const at = siblings.findIndex((g) => g.id === targetId)
  return { ok: true, parentId, index: at < 0 ? siblings.length : at + (zone === 'after' ? 1 : 0) }
}

/** Where a dragged label would land: onto a group row (its end) or before/after a label row. */
export function planLabelDrop(
  p: WorkspaceProjection,
  labelId: string,
  target: { kind: 'group'; id: string } | { kind: 'label'; id: string; zone: DropZone },
): DropPlan<{ groupId: string; index: number }> {
  if (target.kind === 'group') {
    if (!p.groupsById[target.id]) return { ok: false, reason: 'that group no longer exists' }
    return { ok: true, groupId: target.id, index: labelsIn(p, target.id, labelId).length }
  }
  const over = p.labels.find((l) => l.id === target.id)
  if (!over) return { ok: false, reason: 'that label no longer exists' }
  if (over.id === labelId) return { ok: false, reason: '' }
  const siblings = labelsIn(p, over.groupId, labelId)
  const at = siblings.findIndex((l) => l.id === over.id)
  return { ok: true, groupId: over.groupId, index: at + (target.zone === 'after' ? 1 : 0) }
}
