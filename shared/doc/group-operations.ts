import type * as Y from 'yjs'
import { conflict, invalid, LabelsError, notFound } from '../errors.ts'
import { placementRefusal } from '../group-moves.ts'
import { GroupCreate, GroupPatch } from '../schemas/group.ts'
import { check } from '../schemas/validate.ts'
import { placeAt } from './fractional-index.ts'
import type { DocOrigin } from './origin.ts'
import { labelsIn, projectWorkspace, siblingsOf, type ProjectedGroup, type WorkspaceProjection } from './projection.ts'
import { DEFAULT_GROUP_ID, entryOf, groupsOf, labelsOf, newId, putEntry } from './shape.ts'

/** Optional knobs for tests and replays: a fixed id and clock. */
export interface OpOptions {
  id?: string
  now?: Date
}

export interface GroupView {
  id: string
  name: string
  parentId: string | null
  isDefault: boolean
}

const view = (g: ProjectedGroup): GroupView => ({
  id: g.id,
  name: g.name,
  parentId: g.parentId,
  isDefault: g.isDefault,
})

function mustGroup(p: WorkspaceProjection, id: string, path = '/id'): ProjectedGroup {
  const g = p.groupsById[id]
  if (!g) throw notFound(`group ${id} not found`, path)
  return g
}

/** Checks that `group` (undefined: a new group) may go under `parentId` (docs/model.md#group-rules, shared/group-moves.ts). */
function mustPlace(p: WorkspaceProjection, parentId: string, group?: ProjectedGroup): void {
  const refusal = placementRefusal(p.groupsById, parentId, group)
  if (refusal) throw new LabelsError(refusal.code, refusal.message, '/parentId')
}

/** Creates a group (first-level, or under a first-level custom group), appended last. */
export function createGroup(
  doc: Y.Doc,
  input: { name: string; parentId?: string | null },
  origin: DocOrigin,
  opts: OpOptions = {},
): GroupView {
  check(GroupCreate, input)
  const name = input.name.trim()
  if (!name) throw invalid('group name must not be blank', '/name')
  const p = projectWorkspace(doc)
  const parentId = input.parentId ?? null
  if (parentId !== null) mustPlace(p, parentId)
  const id = opts.id ?? newId('g')
  if (p.groupsById[id] || entryOf(groupsOf(doc), id)) throw conflict(`group ${id} already exists`, '/id')
  const siblings = siblingsOf(p, parentId)
  const { keys, rekey } = placeAt(siblings, siblings.length)
  doc.transact(() => {
    rekeyGroups(doc, rekey)
    putEntry(groupsOf(doc), id, {
      id,
      name,
      parentId,
      order: keys[0],
      createdAt: (opts.now ?? new Date()).toISOString(),
    })
  }, origin)
  return { id, name, parentId, isDefault: false }
}

/** Renames a custom group (the Default group keeps its name). */
export function renameGroup(doc: Y.Doc, id: string, name: string, origin: DocOrigin): GroupView {
  check(GroupPatch, { name })
  const p = projectWorkspace(doc)
  const g = mustGroup(p, id)
  if (g.isDefault) throw conflict('the Default group cannot be renamed', '/name')
  const trimmed = name.trim()
  if (!trimmed) throw invalid('group name must not be blank', '/name')
  doc.transact(() => entryOf(groupsOf(doc), id)?.set('name', trimmed), origin)
  return { ...view(g), name: trimmed }
}

/**
 * Moves a group to `parentId` (undefined: keep its parent; null: first level) at `index` among
 * its new siblings (default: last). Enforces docs/model.md#group-rules (shared/group-moves.ts): Default stays
 * first-level, at most two levels, a group with subgroups can't go under another group.
 */
export function moveGroup(
  doc: Y.Doc,
  id: string,
  to: { parentId?: string | null; index?: number },
  origin: DocOrigin,
): GroupView {
  check(GroupPatch, to)
  const p = projectWorkspace(doc)
  const g = mustGroup(p, id)
  const parentId = to.parentId === undefined ? g.parentId : to.parentId
  if (parentId !== null) mustPlace(p, parentId, g)
  const siblings = siblingsOf(p, parentId, id)
  const { keys, rekey } = placeAt(siblings, to.index ?? siblings.length)
  doc.transact(() => {
    rekeyGroups(doc, rekey)
    const e = entryOf(groupsOf(doc), id)
    if (!e) return
    if (e.get('parentId') !== parentId) e.set('parentId', parentId)
    e.set('order', keys[0])
  }, origin)
  return { ...view(g), parentId }
}

/**
 * PATCH /api/groups/:id: rename and/or move in ONE transaction. Everything is checked before
 * anything is written (Yjs has no rollback), so a refused move doesn't leave a half rename.
 */
export function updateGroup(
  doc: Y.Doc,
  id: string,
  patch: { name?: string; parentId?: string | null; index?: number },
  origin: DocOrigin,
): GroupView {
  check(GroupPatch, patch)
  const g = mustGroup(projectWorkspace(doc), id)
  if (patch.name !== undefined) {
    if (g.isDefault && patch.name !== g.name) throw conflict('the Default group cannot be renamed', '/name')
    if (!patch.name.trim()) throw invalid('group name must not be blank', '/name')
  }
  const moving = patch.parentId !== undefined || patch.index !== undefined
  let out: GroupView = view(g)
  doc.transact(() => {
    if (moving) {
      const to: { parentId?: string | null; index?: number } = {}
      if (patch.parentId !== undefined) to.parentId = patch.parentId
      if (patch.index !== undefined) to.index = patch.index
      out = moveGroup(doc, id, to, origin) // validates before its first write
    }
    if (patch.name !== undefined && !g.isDefault) out = { ...out, name: renameGroup(doc, id, patch.name, origin).name }
  }, origin)
  return out
}

/**
 * Deletes a custom group; a first-level group takes its subgroups with it. Every label shown in
 * a deleted group moves to the end of the Default group, so no label is ever lost.
 */
export function deleteGroup(
  doc: Y.Doc,
  id: string,
  origin: DocOrigin,
): { deletedGroupIds: string[]; movedLabelIds: string[] } {
  const p = projectWorkspace(doc)
  const g = mustGroup(p, id)
  if (g.isDefault) throw conflict('the Default group cannot be deleted', '/id')
  const doomed = [g.id, ...g.childIds]
  const moving = p.labels.filter((l) => doomed.includes(l.groupId))
  const target = labelsIn(p, DEFAULT_GROUP_ID)
  const { keys, rekey } = placeAt(target, target.length, moving.length)
  doc.transact(() => {
    rekeyLabels(doc, rekey)
    moving.forEach((l, i) => {
      const e = entryOf(labelsOf(doc), l.id)
      e?.set('groupId', DEFAULT_GROUP_ID)
      e?.set('order', keys[i])
    })
    for (const gid of doomed) groupsOf(doc).delete(gid)
  }, origin)
  return { deletedGroupIds: doomed, movedLabelIds: moving.map((l) => l.id) }
}

/** Applies re-keyed order strings (from placeAt) to groups. */
export function rekeyGroups(doc: Y.Doc, rekey: Map<string, string>): void {
  for (const [gid, key] of rekey) entryOf(groupsOf(doc), gid)?.set('order', key)
}

/** Applies re-keyed order strings (from placeAt) to labels. */
export function rekeyLabels(doc: Y.Doc, rekey: Map<string, string>): void {
  for (const [lid, key] of rekey) entryOf(labelsOf(doc), lid)?.set('order', key)
}
