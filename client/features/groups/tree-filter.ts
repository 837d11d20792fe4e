import type { GroupNode } from '../../../shared/schemas/group.ts'
import type { ProjectedLabel } from '../../../shared/doc/projection.ts'

export interface VisibleGroup {
  group: GroupNode
  labels: ProjectedLabel[]
  children: VisibleGroup[]
}

/**
 * What the tree is made of: the groups (read as plain objects: through the store each field read
 * is a signal, 500 groups' worth at every keystroke, issue 9) and the labels.
 */
export type TreeSource = {
  groups: readonly GroupNode[]
  labels: readonly ProjectedLabel[]
}

/** True when a label's name or display name contains the query (case-insensitive substring, docs/model.md#groups). */
export function labelMatches(label: Pick<ProjectedLabel, 'name' | 'displayName'>, query: string): boolean {
  const q = query.trim().toLowerCase()
  return !q || label.name.toLowerCase().includes(q) || label.displayName.toLowerCase().includes(q)
}

/**
 * What the filter reads of each label, lower-cased once: built when the labels change, so a
 * keystroke scans plain strings instead of every label's fields through the store (issue 9).
 */
export interface LabelIndex {
  labels: readonly ProjectedLabel[]
  groupIds: readonly string[]
  /** Lower-cased name and display name, NUL-separated (a query never holds NUL). */
  text: readonly string[]
}

/** Matches of the recent queries per index (matchIndices), the latest last. */
const recentMatches = new WeakMap<LabelIndex, Map<string, readonly number[]>>()
/** How many recent queries' matches are kept per index (a word typed and erased again). */
const RECENT_QUERIES = 16

/**
 * Positions in `index` of the labels matching the lower-cased, trimmed query `q` (not empty). A
 * query that contains a recent one ("label_1" → "label_12", a letter typed) can only match labels
 * that one matched: only those are scanned, not every label; a recent query itself (the Backspace
 * back to "label_1") is answered from what was kept (issue 9, keystrokes).
 */
export function matchIndices(index: LabelIndex, q: string): readonly number[] {
  let recent = recentMatches.get(index)
  if (!recent) recentMatches.set(index, (recent = new Map()))
  const kept = recent.get(q)
  if (kept) {
    recent.delete(q)
    recent.set(q, kept)
    return kept
  }
  // The narrowest recent superset: the longest recent query that q contains.
  let from: readonly number[] | null = null
  let fromLength = -1
  for (const [r, hits] of recent)
    if (r.length > fromLength && q.includes(r)) {
      from = hits
      fromLength = r.length
    }
  const hits: number[] = []
  if (from) {
    for (const i of from) if ((index.text[i] as string).includes(q)) hits.push(i)
  } else {
    for (let i = 0; i < index.text.length; i++) if ((index.text[i] as string).includes(q)) hits.push(i)
  }
  recent.set(q, hits)
  if (recent.size > RECENT_QUERIES) recent.delete(recent.keys().next().value as string)
  return hits
}

export function indexLabels(labels: readonly ProjectedLabel[]): LabelIndex {
  return {
    labels: [...labels],
    groupIds: labels.map((l) => l.groupId),
    text: labels.map((l) => `${l.name}\u0000${l.displayName}`.toLowerCase()),
  }
}

/**
 * The tree to show for a filter: without a query every group with all its labels; with one,
 * only matching labels, inside their groups (a parent is kept when a subgroup has matches).
 * `index` is indexLabels(p.labels), when the caller keeps one. When the tree is what `prev`
 * shows (the same groups and labels, e.g. "lab" → "labe" while every label matches), `prev`
 * itself is returned, so a keystroke that changes nothing shown renders nothing (issue 9).
 */
export function filterTree(
  p: TreeSource,
  query: string,
  index: LabelIndex = indexLabels(p.labels),
  prev?: VisibleGroup[],
): VisibleGroup[] {
  const next = buildTree(p, query, index)
  return prev && sameTree(prev, next) ? prev : next
}

/** True when two trees show the same groups (by identity) holding the same labels (by identity), in order. */
export function sameTree(a: readonly VisibleGroup[], b: readonly VisibleGroup[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as VisibleGroup
    const y = b[i] as VisibleGroup
    if (x.group !== y.group || x.labels.length !== y.labels.length || !sameTree(x.children, y.children)) return false
    for (let j = 0; j < x.labels.length; j++) if (x.labels[j] !== y.labels[j]) return false
  }
  return true
}

function buildTree(p: TreeSource, query: string, index: LabelIndex): VisibleGroup[] {
  const q = query.trim().toLowerCase()
  const filtering = q !== ''
  const byGroup = new Map<string, ProjectedLabel[]>()
  const add = (i: number) => {
    const g = index.groupIds[i] as string
    const list = byGroup.get(g)
    if (list) list.push(index.labels[i] as ProjectedLabel)
    else byGroup.set(g, [index.labels[i] as ProjectedLabel])
  }
  if (filtering) for (const i of matchIndices(index, q)) add(i)
  else for (let i = 0; i < index.labels.length; i++) add(i)
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
