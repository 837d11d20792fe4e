import type { ProjectedLabel, WorkspaceProjection } from '../../../shared/doc/projection.ts'
import { planGroupDrop, planLabelDrop } from './drop-plan.ts'
import type { VisibleGroup } from './tree-filter.ts'

/** A row of the tree as the keyboard sees it (the WAI-ARIA tree pattern): `group:<id>` or `label:<id>`. */
export interface TreeItem {
  key: string
  kind: 'group' | 'label'
  id: string
  /** aria-level: top-level groups 1, their labels and subgroups 2, a subgroup's labels 3. */
  level: number
  /** The key of the group holding it; null at the top. */
  parent: string | null
  /** For groups: whether it has rows under it, and whether they are shown. */
  expandable: boolean
  expanded: boolean
  /** A label's name, a group's name: what type-ahead matches. */
  text: string
  /** aria-setsize and aria-posinset: the rows under the same parent (labels, then subgroups). */
  setSize: number
  posInSet: number
  /** What the row shows: the label, or the group with its shown labels and subgroups. */
  label?: ProjectedLabel
  node?: VisibleGroup
}

export const itemKey = (kind: TreeItem['kind'], id: string): string => `${kind}:${id}`

// A label's key, made once per label value (labels are replaced whole when they change): the
// rows are listed again at every keystroke that changes them, thousands of keys each time.
const labelKeys = new WeakMap<ProjectedLabel, string>()
const labelKey = (l: ProjectedLabel): string => {
  let k = labelKeys.get(l)
  if (k === undefined) labelKeys.set(l, (k = itemKey('label', l.id)))
  return k
}

/**
 * The rows on screen, top to bottom, in the order the tree renders them (a group, its labels,
 * then its subgroups); a collapsed group hides everything under it.
 */
export function visibleItems(tree: VisibleGroup[], isOpen: (groupId: string) => boolean): TreeItem[] {
  const out: TreeItem[] = []
  const visit = (n: VisibleGroup, level: number, parent: string | null, setSize: number, posInSet: number) => {
    const key = itemKey('group', n.group.id)
    const expandable = n.labels.length + n.children.length > 0
    const expanded = isOpen(n.group.id)
    out.push({
      key,
      kind: 'group',
      id: n.group.id,
      level,
      parent,
      expandable,
      expanded,
      text: n.group.name,
      setSize,
      posInSet,
      node: n,
    })
    if (!expanded) return
    const size = n.labels.length + n.children.length
    n.labels.forEach((l, i) =>
      out.push({
        key: labelKey(l),
        kind: 'label',
        id: l.id,
        level: level + 1,
        parent: key,
        expandable: false,
        expanded: false,
        text: l.displayName,
        setSize: size,
        posInSet: i + 1,
        label: l,
      }),
    )
    n.children.forEach((c, i) => visit(c, level + 1, key, size, n.labels.length + i + 1))
  }
  tree.forEach((n, i) => visit(n, 1, null, tree.length, i + 1))
  return out
}

/** What a key press on a tree row does. */
export type TreeAction =
  | { kind: 'focus'; key: string }
  | { kind: 'expand'; groupId: string }
  | { kind: 'collapse'; groupId: string }
  | { kind: 'open'; labelId: string }
  | { kind: 'menu'; key: string }
  | null

/**
 * The WAI-ARIA tree keyboard map for the row `current`: Up/Down the previous/next visible row,
 * Right expands a closed group or goes to its first child, Left collapses an open group or goes to
 * the parent, Home/End the first/last row, Enter opens a label (toggles a group), Shift+F10 or the
 * context-menu key the row's More menu, a printable character the next row starting with it.
 */
export function treeKeyAction(
  items: TreeItem[],
  current: string,
  key: string,
  mods: { shift?: boolean; ctrl?: boolean; alt?: boolean; meta?: boolean } = {},
): TreeAction {
  const at = items.findIndex((i) => i.key === current)
  if (at < 0) return items[0] ? { kind: 'focus', key: items[0].key } : null
  const item = items[at] as TreeItem
  const focus = (i: TreeItem | undefined): TreeAction => (i ? { kind: 'focus', key: i.key } : null)
  if (mods.ctrl || mods.alt || mods.meta) return null
  switch (key) {
    case 'ArrowDown':
      return focus(items[at + 1])
    case 'ArrowUp':
      return focus(items[at - 1])
    case 'Home':
      return focus(items[0])
    case 'End':
      return focus(items[items.length - 1])
    case 'ArrowRight':
      if (item.kind !== 'group' || !item.expandable) return null
      return item.expanded ? focus(items[at + 1]) : { kind: 'expand', groupId: item.id }
    case 'ArrowLeft':
      if (item.kind === 'group' && item.expanded && item.expandable) return { kind: 'collapse', groupId: item.id }
      return focus(items.find((i) => i.key === item.parent))
    case 'Enter':
      if (item.kind === 'label') return { kind: 'open', labelId: item.id }
      if (!item.expandable) return null
      return item.expanded ? { kind: 'collapse', groupId: item.id } : { kind: 'expand', groupId: item.id }
    case 'ContextMenu':
      return { kind: 'menu', key: item.key }
    case 'F10':
      return mods.shift ? { kind: 'menu', key: item.key } : null
  }
  if (key.length === 1 && key.trim()) {
    // Type-ahead: the next row (wrapping) whose text starts with the character.
    const ch = key.toLowerCase()
    for (let k = 1; k <= items.length; k++) {
      const i = items[(at + k) % items.length] as TreeItem
      if (i.text.toLowerCase().startsWith(ch)) return i.key === current ? null : focus(i)
    }
  }
  return null
}

/** A place "Move to…" offers, with the same rules as dragging (drop-plan.ts). */
export interface MoveDestination {
  /** The group the row goes into; null for the top level (groups only). */
  groupId: string | null
  name: string
  index: number
}

/**
 * Where "Move to…" may put a label: at the end of any other group (as dropping it on a group row).
 */
export function labelDestinations(p: WorkspaceProjection, labelId: string): MoveDestination[] {
  const label = p.labels.find((l) => l.id === labelId)
  if (!label) return []
  const out: MoveDestination[] = []
  for (const g of flatGroups(p)) {
    if (g.id === label.groupId) continue
    const plan = planLabelDrop(p, labelId, { kind: 'group', id: g.id })
    if (plan.ok) out.push({ groupId: plan.groupId, name: g.path, index: plan.index })
  }
  return out
}

/**
 * Where "Move to…" may put a group: into another group, or to the top level, exactly where a drag
 * could (the two-level rule of docs/model.md#group-rules, via planGroupDrop).
 */
export function groupDestinations(p: WorkspaceProjection, groupId: string): MoveDestination[] {
  const group = p.groupsById[groupId]
  if (!group || group.isDefault) return []
  const out: MoveDestination[] = []
  const lastTop = [...p.groups].reverse().find((g) => g.id !== groupId)
  if (group.parentId !== null && lastTop) {
    const plan = planGroupDrop(p, groupId, lastTop.id, 'after')
    if (plan.ok) out.push({ groupId: null, name: 'Top level', index: plan.index })
  }
  for (const g of flatGroups(p)) {
    if (g.id === groupId || g.id === group.parentId) continue
    const plan = planGroupDrop(p, groupId, g.id, 'into')
    if (plan.ok) out.push({ groupId: plan.parentId, name: g.path, index: plan.index })
  }
  return out
}

/** Every group with its path ("Lifecycle › Retention"), in tree order. */
function flatGroups(p: WorkspaceProjection): Array<{ id: string; path: string }> {
  return p.groups.flatMap((g) => [
    { id: g.id, path: g.name },
    ...g.children.map((c) => ({ id: c.id, path: `${g.name} › ${c.name}` })),
  ])
}
