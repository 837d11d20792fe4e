/**
 * Where a group may be placed (docs/model.md#group-rules), in one place: the document operations
 * (shared/doc/group-operations.ts) enforce these rules, and the tree's drag and drop
 * (client/features/groups/drop-plan.ts) shows the same refusals while hovering.
 *
 * - groups have at most two levels: a subgroup's parent is a first-level group;
 * - the Default group stays first-level and has no subgroups;
 * - a group with subgroups can't go under another group;
 * - a group can't be its own parent.
 */

/** What the rules read of a group. */
export interface PlacedGroup {
  readonly id: string
  readonly parentId: string | null
  readonly isDefault: boolean
  readonly childIds: readonly string[]
}

/** A refused placement: the error to answer (code, message; its path is `/parentId`) and a short hint to show while hovering. */
export interface PlacementRefusal {
  readonly code: 'conflict' | 'invalid'
  readonly message: string
  /** Words for the tree; empty when the drop is simply a no-op (a group onto itself). */
  readonly hint: string
}

const refuse = (code: PlacementRefusal['code'], message: string, hint = message): PlacementRefusal => ({
  code,
  message,
  hint,
})

/** A group by id, own keys only (an id such as `constructor` or `__proto__` is no inherited member). */
function lookup<G extends PlacedGroup>(groups: Readonly<Record<string, G>>, id: string): G | undefined {
  return Object.hasOwn(groups, id) ? groups[id] : undefined
}

/**
 * Why a group can't go under `parentId`, or null when it can. `group` is the group being moved,
 * or undefined for a new group (which has no subgroups and isn't Default).
 */
export function placementRefusal<G extends PlacedGroup>(
  groups: Readonly<Record<string, G>>,
  parentId: string,
  group?: PlacedGroup,
): PlacementRefusal | null {
  if (group?.isDefault)
    return refuse(
      'conflict',
      'the Default group cannot be moved under another group',
      'the Default group stays first-level',
    )
  const parent = lookup(groups, parentId)
  if (!parent) return refuse('invalid', `parent group ${parentId} does not exist`, 'that group no longer exists')
  if (parent.isDefault) return refuse('conflict', 'the Default group cannot have subgroups')
  if (group && parent.id === group.id) return refuse('conflict', 'a group cannot be its own parent', '')
  if (parent.parentId !== null)
    return refuse(
      'conflict',
      'groups have at most two levels: the parent is a subgroup',
      'groups have at most two levels',
    )
  if (group && group.childIds.length > 0) {
    return refuse(
      'conflict',
      'a group with subgroups cannot be placed under another group',
      'a group with subgroups cannot be placed under a first-level group',
    )
  }
  return null
}
