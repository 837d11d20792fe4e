import type { GroupNode } from '../../../shared/schemas/group.ts'
import type { ProjectedLabel, WorkspaceProjection } from '../../../shared/doc/projection.ts'

export interface VisibleGroup {
  group: GroupNode
  labels: ProjectedLabel[]
  children: VisibleGroup[]
}

/** True when a label's name or display name contains the query (case-insensitive substring, docs/model.md#groups). */
export function labelMatches(label: Pick<ProjectedLabel, 'name' | 'displayName'>, query: string): boolean {
  const q = query.trim().toLowerCase()
  return !q || label.name.toLowerCase().includes(q) || label.displayName.toLowerCase().includes(q)
}

/**
 * The tree to show for a filter: without a query every group with all its labels; with one,
 * only matching labels, inside their groups (a parent is kept when a subgroup has matches).
 */
export function filterTree(p: Pick<WorkspaceProjection, 'groups' | 'labels'>, query: string): VisibleGroup[] {
  const filtering = query.trim() !== ''
  const byGroup = new Map<string, ProjectedLabel[]>()
  for (const l of p.labels) {
    if (!labelMatches(l, query)) continue
    const list = byGroup.get(l.groupId)
    if (list) list.push(l)
    else byGroup.set(l.groupId, [l])
  }
  const visit = (g: GroupNode): VisibleGroup | null => {
    const children = g.children.map(visit).filter((c): c is VisibleGroup => c !== null)
    const labels = byGroup.get(g.id) ?? []
    if (filtering && labels.length === 0 && children.length === 0) return null
    return { group: g, labels, children }
  }
  return p.groups.map(visit).filter((g): g is VisibleGroup => g !== null)
}

/** How many labels a filtered tree shows. */
export function countLabels(tree: VisibleGroup[]): number {
  return tree.reduce((n, g) => n + g.labels.length + countLabels(g.children), 0)
}
