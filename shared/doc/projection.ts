import * as Y from 'yjs'
import type { GroupNode } from '../schemas/group.ts'
import { defaultSchedule, type DataType, type Label, type LabelType, type Schedule } from '../schemas/label.ts'
import type { Rule } from '../schemas/rule.ts'
import { isSchedule } from '../schedule.ts'
import { compareOrder } from './fractional-index.ts'
import { DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, groupsOf, labelsOf } from './shape.ts'
import { draftsOf } from './drafts.ts'

/** A group as displayed: `parentId` is the repaired parent, `rawParentId` what the document says. */
export interface ProjectedGroup {
  id: string
  name: string
  parentId: string | null
  rawParentId: string | null
  order: string
  createdAt: string
  isDefault: boolean
  depth: 1 | 2
  childIds: string[]
}

/** A label as displayed; `groupId` is always an existing group, `rawGroupId` what the document says. */
export interface ProjectedLabel extends Label {
  order: string
  rawGroupId: string
  /** True when another (older) label holds the same name: shown, never silently merged. */
  nameConflict: boolean
}

/** The label as stored: a projected label without its projection-only fields (order, raw group, conflict mark). */
export function storedLabel(l: ProjectedLabel): Label {
  const { order: _o, rawGroupId: _r, nameConflict: _n, ...label } = l
  return label
}

/** A write that makes the document say what the projection already shows (repairWorkspace). */
export type Repair =
  | { kind: 'create-default-group' }
  | { kind: 'reset-default-group' }
  | { kind: 'detach-group'; groupId: string; rawParentId: string }
  | { kind: 'rehome-label'; labelId: string; rawGroupId: string }
  | { kind: 'drop-entry'; map: 'groups' | 'labels' | 'drafts'; key: string }

export interface WorkspaceProjection {
  /** First-level groups in display order, each with its ordered children. */
  groups: GroupNode[]
  groupsById: Record<string, ProjectedGroup>
  /** Labels in display order: by group (tree order), then order key, then id. */
  labels: ProjectedLabel[]
  /** Names held by more than one label; labelIds[0] keeps the name (oldest createdAt, then id). */
  duplicates: Array<{ name: string; labelIds: string[] }>
  repairs: Repair[]
}

interface RawGroup {
  id: string
  name: string
  parentId: string | null
  order: string
  createdAt: string
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback)
const DATA_TYPES: readonly DataType[] = ['string', 'number', 'collection', 'date', 'boolean']

function readGroups(doc: Y.Doc, repairs: Repair[]): Map<string, RawGroup> {
  const out = new Map<string, RawGroup>()
  groupsOf(doc).forEach((v, id) => {
    if (!(v instanceof Y.Map)) return void repairs.push({ kind: 'drop-entry', map: 'groups', key: id })
    const p = v.get('parentId')
    out.set(id, {
      id,
      name: str(v.get('name'), id),
      parentId: typeof p === 'string' ? p : null,
      order: str(v.get('order')),
      createdAt: str(v.get('createdAt')),
    })
  })
  return out
}

/**
 * Two levels from an arbitrary parent graph, decided from the state alone (so every replica
 * agrees whatever order updates arrived in), as SPEC's example puts it: "a group whose parent is
 * not a valid first-level group shows as first-level".
 *  - an edge G→P counts only if P exists, P ≠ G, and neither is the Default group;
 *  - a group without a counting edge is a valid first-level group;
 *  - a group whose edge points at one is shown under it;
 *  - any other group (its parent has a parent itself: a subgroup created under a group that was
 *    concurrently moved under another, a cycle, a raw write) is shown first-level, and the rest
 *    of the tree stays as it was.
 * A shown parent has no counting edge, so it has no parent, and a shown child is not a valid
 * first-level group, so nothing is shown under it: no cycles, never three levels.
 */
function resolveParents(raw: Map<string, RawGroup>): Map<string, string | null> {
  const counts = (g: RawGroup) =>
    g.id !== DEFAULT_GROUP_ID &&
    g.parentId !== null &&
    g.parentId !== g.id &&
    g.parentId !== DEFAULT_GROUP_ID &&
    raw.has(g.parentId)
  const parent = new Map<string, string | null>()
  for (const g of raw.values()) {
    const p = counts(g) ? (raw.get(g.parentId as string) as RawGroup) : null
    parent.set(g.id, p && !counts(p) ? p.id : null)
  }
  return parent
}

/**
 * The label's schedule, or its type's default when the stored value isn't a valid schedule for
 * that type (a raw write, or a type switch merged with a concurrent schedule edit): the same on
 * every replica, and always something the scheduler can compute slots for.
 */
function readSchedule(v: unknown, labelType: LabelType): Schedule {
  if (isSchedule(v) && (v.kind === 'once') === (labelType === 'static')) return v
  return defaultSchedule(labelType)
}

function readLabel(id: string, m: Y.Map<unknown>, groupIds: Set<string>, repairs: Repair[]): ProjectedLabel {
  const rawGroupId = str(m.get('groupId'), DEFAULT_GROUP_ID)
  const groupId = groupIds.has(rawGroupId) ? rawGroupId : DEFAULT_GROUP_ID
  if (groupId !== rawGroupId || typeof m.get('groupId') !== 'string')
    repairs.push({ kind: 'rehome-label', labelId: id, rawGroupId })
  const name = str(m.get('name'))
  const labelType: LabelType = m.get('labelType') === 'dynamic' ? 'dynamic' : 'static'
  const dataType = DATA_TYPES.includes(m.get('dataType') as DataType) ? (m.get('dataType') as DataType) : 'string'
  const rule = m.get('rule')
  const enabled = m.get('enabled')
  return {
    id,
    name,
    displayName: str(m.get('displayName'), name),
    groupId,
    rawGroupId,
    order: str(m.get('order')),
    dataType,
    labelType,
    schedule: readSchedule(m.get('schedule'), labelType),
    enabled: typeof enabled === 'boolean' ? enabled : true,
    description: str(m.get('description')),
    rule:
      rule && typeof rule === 'object' && typeof (rule as Rule).method === 'string'
        ? (rule as Rule)
        : { method: 'import' },
    createdAt: str(m.get('createdAt')),
    updatedAt: str(m.get('updatedAt')),
    nameConflict: false,
  }
}

/**
 * Oldest createdAt, then smallest id, keeps a contested name; the others are flagged. Labels are
 * not written to: one whose flag changes is replaced by a copy (an incremental projection hands
 * back the previous projection's objects, which a reader such as a Solid store may hold).
 */
function flagDuplicates(labels: ProjectedLabel[]): {
  labels: ProjectedLabel[]
  duplicates: Array<{ name: string; labelIds: string[] }>
} {
  const byName = new Map<string, ProjectedLabel[]>()
  for (const l of labels) {
    const list = byName.get(l.name)
    if (list) list.push(l)
    else byName.set(l.name, [l])
  }
  const out: Array<{ name: string; labelIds: string[] }> = []
  const conflicted = new Set<string>()
  for (const [name, list] of byName) {
    if (list.length < 2) continue
    list.sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : a.id < b.id ? -1 : 1))
    list.slice(1).forEach((l) => conflicted.add(l.id))
    out.push({ name, labelIds: list.map((l) => l.id) })
  }
  return {
    labels: labels.map((l) => (l.nameConflict === conflicted.has(l.id) ? l : { ...l, nameConflict: !l.nameConflict })),
    duplicates: out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  }
}

/** The groups part of a projection, and what sorting labels needs (each group's display position). */
interface GroupPart {
  groups: GroupNode[]
  groupsById: Record<string, ProjectedGroup>
  position: Map<string, number>
  repairs: Repair[]
}

function projectGroups(doc: Y.Doc): GroupPart {
  const repairs: Repair[] = []
  const raw = readGroups(doc, repairs)
  const def = raw.get(DEFAULT_GROUP_ID)
  if (!def) {
    repairs.push({ kind: 'create-default-group' })
    raw.set(DEFAULT_GROUP_ID, {
      id: DEFAULT_GROUP_ID,
      name: DEFAULT_GROUP_NAME,
      parentId: null,
      order: '',
      createdAt: '',
    })
  } else if (def.name !== DEFAULT_GROUP_NAME || def.parentId !== null) {
    repairs.push({ kind: 'reset-default-group' })
    def.name = DEFAULT_GROUP_NAME
  }
  const parents = resolveParents(raw)
  // Null prototype: an id such as `constructor` or `__proto__` must not find Object.prototype members.
  const byId: Record<string, ProjectedGroup> = Object.create(null) as Record<string, ProjectedGroup>
  for (const g of raw.values()) {
    const parentId = parents.get(g.id) ?? null
    if (g.id !== DEFAULT_GROUP_ID && g.parentId !== null && parentId === null)
      repairs.push({ kind: 'detach-group', groupId: g.id, rawParentId: g.parentId })
    byId[g.id] = {
      id: g.id,
      name: g.name,
      parentId,
      rawParentId: g.parentId,
      order: g.order,
      createdAt: g.createdAt,
      isDefault: g.id === DEFAULT_GROUP_ID,
      depth: parentId === null ? 1 : 2,
      childIds: [],
    }
  }
  const all = Object.values(byId).sort(compareOrder)
  for (const g of all) if (g.parentId !== null) byId[g.parentId]?.childIds.push(g.id)
  const node = (g: ProjectedGroup): GroupNode => ({
    id: g.id,
    name: g.name,
    parentId: g.parentId,
    isDefault: g.isDefault,
    children: g.childIds.map((c) => node(byId[c] as ProjectedGroup)),
  })
  const roots = all.filter((g) => g.parentId === null)
  const position = new Map<string, number>()
  for (const r of roots) {
    position.set(r.id, position.size)
    for (const c of r.childIds) position.set(c, position.size)
  }
  return { groups: roots.map(node), groupsById: byId, position, repairs }
}

/** The pure, deterministic view of a workspace document that every reader uses (see README). */
export function projectWorkspace(doc: Y.Doc): WorkspaceProjection {
  return new Projector(doc).project(null)
}

/**
 * A projection kept up to date with a document, re-reading only what transactions touched
 * (issue 9, "Scale"): the labels whose entries changed, and the groups part when any group
 * changed. `project(prev)` returns the projection now, equal to projectWorkspace(doc), in which
 * every label the transactions since the last call did not touch is `prev`'s own object, and
 * `groups`/`groupsById` are `prev`'s when no group changed; with nothing touched, `prev` itself
 * (the first call, or one with `prev` null, reads the whole document).
 * So a Solid store reconciled with it compares untouched labels by identity (O(1) each) instead
 * of field by field. `prev` must be what the last call returned, or equal to it (e.g. the raw
 * state of a store reconciled with it). `stop()` removes its observers.
 */
export function trackProjection(doc: Y.Doc): {
  project(prev: WorkspaceProjection | null): WorkspaceProjection
  stop(): void
} {
  const p = new Projector(doc)
  const labels = labelsOf(doc)
  const groups = groupsOf(doc)
  const drafts = draftsOf(doc)
  const onLabels = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
    for (const e of events) {
      if (e.target === labels) (e as Y.YMapEvent<unknown>).keysChanged.forEach((k) => p.touch(k))
      else if (typeof e.path[0] === 'string') p.touch(e.path[0])
    }
  }
  const onGroups = () => p.touchGroups()
  const onDrafts = () => p.touchDrafts()
  labels.observeDeep(onLabels)
  groups.observeDeep(onGroups)
  drafts.observe(onDrafts)
  // Whatever the document held before the first call (e.g. loaded before tracking started) is read then.
  let first = true
  return {
    project(prev) {
      const out = p.project(first ? null : prev)
      first = false
      return out
    },
    stop() {
      labels.unobserveDeep(onLabels)
      groups.unobserveDeep(onGroups)
      drafts.unobserve(onDrafts)
    },
  }
}

/** Builds projections; between calls it remembers what was touched and what needs repairs. */
class Projector {
  private readonly touched = new Set<string>()
  private groupsTouched = true
  private draftsTouched = true
  private groupPart: GroupPart | null = null
  private draftRepairs: Repair[] = []
  /** Labels whose group the projection repairs (missing, or not a string), and junk entries. */
  private readonly rehomed = new Set<string>()
  private readonly junk = new Set<string>()

  constructor(private readonly doc: Y.Doc) {}

  touch(labelId: string): void {
    this.touched.add(labelId)
  }
  touchGroups(): void {
    this.groupsTouched = true
  }
  touchDrafts(): void {
    this.draftsTouched = true
  }

  project(prev: WorkspaceProjection | null): WorkspaceProjection {
    const doc = this.doc
    if (prev && !this.groupsTouched && !this.draftsTouched && this.touched.size === 0) return prev
    const groupsChanged = !prev || this.groupsTouched || !this.groupPart
    const gp = groupsChanged ? projectGroups(doc) : (this.groupPart as GroupPart)
    this.groupPart = gp
    this.groupsTouched = false
    if (this.draftsTouched || !prev) {
      // Drafts are projected by projectDrafts; only junk entries (raw writes) are the tree's concern.
      this.draftRepairs = []
      draftsOf(doc).forEach(
        (v, id) => v instanceof Y.Map || this.draftRepairs.push({ kind: 'drop-entry', map: 'drafts', key: id }),
      )
      this.draftsTouched = false
    }
    const groupIds = new Set(Object.keys(gp.groupsById))
    // Which labels to read: all of them the first time; else those touched, and, when groups
    // changed, those whose shown group is no longer what their stored one resolves to.
    const labelsMap = labelsOf(doc)
    const read = new Set<string>()
    if (!prev) {
      this.rehomed.clear()
      this.junk.clear()
      labelsMap.forEach((_v, id) => read.add(id))
    } else {
      for (const id of this.touched) read.add(id)
      if (groupsChanged)
        for (const l of prev.labels)
          if ((groupIds.has(l.rawGroupId) ? l.rawGroupId : DEFAULT_GROUP_ID) !== l.groupId) read.add(l.id)
    }
    this.touched.clear()
    const fresh = new Map<string, ProjectedLabel | null>()
    for (const id of read) {
      const v = labelsMap.get(id)
      this.rehomed.delete(id)
      this.junk.delete(id)
      if (v instanceof Y.Map) {
        const repairs: Repair[] = []
        fresh.set(id, readLabel(id, v, groupIds, repairs))
        if (repairs.length) this.rehomed.add(id)
      } else {
        if (v !== undefined) this.junk.add(id)
        fresh.set(id, null)
      }
    }
    let labels: ProjectedLabel[] = []
    for (const l of prev?.labels ?? []) {
      const f = fresh.get(l.id)
      if (f === undefined) labels.push(l)
      else if (f !== null) labels.push(f), fresh.delete(l.id)
    }
    for (const f of fresh.values()) if (f !== null) labels.push(f) // new labels
    // Mostly in order already (the previous order with a few replaced): a near-linear sort.
    labels.sort((a, b) => (gp.position.get(a.groupId) ?? 0) - (gp.position.get(b.groupId) ?? 0) || compareOrder(a, b))
    const flagged = flagDuplicates(labels)
    labels = flagged.labels
    const repairs: Repair[] = [...gp.repairs]
    if (this.rehomed.size + this.junk.size > 0) {
      const byId = new Map(labels.map((l) => [l.id, l]))
      labelsMap.forEach((_v, id) => {
        if (this.junk.has(id)) repairs.push({ kind: 'drop-entry', map: 'labels', key: id })
        else if (this.rehomed.has(id))
          repairs.push({ kind: 'rehome-label', labelId: id, rawGroupId: (byId.get(id) as ProjectedLabel).rawGroupId })
      })
    }
    repairs.push(...this.draftRepairs)
    const sameGroups = prev && !groupsChanged
    return {
      groups: sameGroups ? prev.groups : gp.groups,
      groupsById: sameGroups ? prev.groupsById : gp.groupsById,
      labels,
      duplicates: flagged.duplicates,
      repairs,
    }
  }
}

/** Finds a projected label by id, else by name (the label that holds the name). */
export function findLabel(p: WorkspaceProjection, idOrName: string): ProjectedLabel | undefined {
  return p.labels.find((l) => l.id === idOrName) ?? p.labels.find((l) => l.name === idOrName && !l.nameConflict)
}

/** A group's display siblings (same shown parent), in order, optionally without one id. */
export function siblingsOf(p: WorkspaceProjection, parentId: string | null, exceptId?: string): ProjectedGroup[] {
  const ids = parentId === null ? p.groups.map((g) => g.id) : (p.groupsById[parentId]?.childIds ?? [])
  return ids.filter((id) => id !== exceptId).map((id) => p.groupsById[id] as ProjectedGroup)
}

/** Labels shown in a group, in order, optionally without one id. */
export function labelsIn(p: WorkspaceProjection, groupId: string, exceptId?: string): ProjectedLabel[] {
  return p.labels.filter((l) => l.groupId === groupId && l.id !== exceptId)
}
