import type * as Y from 'yjs'
import { conflict, invalid, notFound } from '../errors.ts'
import { defaultSchedule, LabelInput, LabelPatch, type Label, type Schedule } from '../schemas/label.ts'
import { check } from '../schemas/validate.ts'
import { placeAt } from './fractional-index.ts'
import type { OpOptions } from './group-operations.ts'
import { rekeyLabels } from './group-operations.ts'
import type { DocOrigin } from './origin.ts'
import {
  findLabel,
  labelsIn,
  projectWorkspace,
  storedLabel,
  type ProjectedLabel,
  type WorkspaceProjection,
} from './projection.ts'
import { DEFAULT_GROUP_ID, entryOf, labelsOf, newId, putEntry } from './shape.ts'

/** docs/model.md#label-types-and-schedules: a static label runs once, a dynamic one on a daily/weekly/monthly schedule. */
function checkSchedule(labelType: Label['labelType'], schedule: Schedule): void {
  if (labelType === 'static' && schedule.kind !== 'once')
    throw invalid('a static label has schedule {kind:"once"}', '/schedule/kind')
  if (labelType === 'dynamic' && schedule.kind === 'once')
    throw invalid('a dynamic label needs a daily, weekly or monthly schedule', '/schedule/kind')
}

function mustLabel(p: WorkspaceProjection, idOrName: string): ProjectedLabel {
  const l = findLabel(p, idOrName)
  if (!l) throw notFound(`label ${idOrName} not found`, '/label')
  return l
}

function mustGroupId(p: WorkspaceProjection, groupId: string): void {
  if (!p.groupsById[groupId]) throw invalid(`group ${groupId} does not exist`, '/groupId')
}

function mustBeFreeName(p: WorkspaceProjection, name: string, selfId?: string): void {
  if (p.labels.some((l) => l.name === name && l.id !== selfId))
    throw conflict(`a label named ${name} already exists`, '/name')
  // An address (`/api/labels/:label`, `#/labels/…`) names a label by id first: this name would
  // address the other label.
  const other = p.labels.find((l) => l.id === name && l.id !== selfId)
  if (other) throw conflict(`${name} is the id of the label ${other.name}; a label can't be named after it`, '/name')
}

/** Creates a label at the end of its group (default: Default); returns it. Name must be free (409). */
export function createLabel(doc: Y.Doc, input: LabelInput, origin: DocOrigin, opts: OpOptions = {}): Label {
  check(LabelInput, input)
  const schedule: Schedule = input.schedule ?? defaultSchedule(input.labelType)
  checkSchedule(input.labelType, schedule)
  const p = projectWorkspace(doc)
  const groupId = input.groupId ?? DEFAULT_GROUP_ID
  mustGroupId(p, groupId)
  mustBeFreeName(p, input.name)
  const id = opts.id ?? newId('l')
  if (entryOf(labelsOf(doc), id)) throw conflict(`label ${id} already exists`, '/id')
  const now = (opts.now ?? new Date()).toISOString()
  const siblings = labelsIn(p, groupId)
  const { keys, rekey } = placeAt(siblings, siblings.length)
  const label: Label = {
    id,
    name: input.name,
    displayName: input.displayName,
    groupId,
    dataType: input.dataType,
    labelType: input.labelType,
    schedule,
    enabled: input.enabled ?? true,
    description: input.description ?? '',
    rule: input.rule,
    createdAt: now,
    updatedAt: now,
  }
  doc.transact(() => {
    rekeyLabels(doc, rekey)
    putEntry(labelsOf(doc), id, { ...label, order: keys[0] })
  }, origin)
  return label
}

/**
 * Patches a label's fields (PATCH, docs/api.md#labels). Switching to static sets schedule once; switching to
 * dynamic without a schedule sets daily at 00:00. A new groupId appends the label to that group. Returns the label.
 */
export function updateLabel(
  doc: Y.Doc,
  idOrName: string,
  patch: LabelPatch,
  origin: DocOrigin,
  opts: OpOptions = {},
): Label {
  check(LabelPatch, patch)
  const p = projectWorkspace(doc)
  const cur = mustLabel(p, idOrName)
  if (patch.name !== undefined && patch.name !== cur.name) mustBeFreeName(p, patch.name, cur.id)
  if (patch.groupId !== undefined) mustGroupId(p, patch.groupId)
  const labelType = patch.labelType ?? cur.labelType
  // Switching type without a schedule takes that type's default schedule.
  const keep =
    patch.schedule ?? ((labelType === 'static') === (cur.schedule.kind === 'once') ? cur.schedule : undefined)
  const schedule = keep ?? defaultSchedule(labelType)
  checkSchedule(labelType, schedule)
  const next: Label = {
    ...storedLabel(cur),
    ...stripUndefined(patch),
    labelType,
    schedule,
    updatedAt: (opts.now ?? new Date()).toISOString(),
  }
  const moved = next.groupId !== cur.groupId
  const siblings = moved ? labelsIn(p, next.groupId) : []
  const { keys, rekey } = placeAt(siblings, siblings.length)
  // Only the patched fields (and what they imply) are written. Not every field of `next`: those
  // come from the projection, which shows a fallback ('' for a name) while a field is missing
  // from this replica's map — e.g. updates delivered out of order, where a concurrent rename's
  // delete has arrived before its new value — and writing that fallback back would make it real.
  const written = new Set<keyof Label>([...(Object.keys(stripUndefined(patch)) as Array<keyof Label>), 'updatedAt'])
  if (schedule !== cur.schedule) written.add('schedule') // a type switch takes that type's default
  doc.transact(() => {
    const e = entryOf(labelsOf(doc), cur.id)
    if (!e) return
    for (const [k, v] of Object.entries(next) as Array<[keyof Label, unknown]>) {
      // Write only what changed so a concurrent edit of another field isn't overwritten.
      if (!written.has(k) || k === 'id' || k === 'createdAt') continue
      if (JSON.stringify(e.get(k)) !== JSON.stringify(v)) e.set(k, v)
    }
    if (moved) {
      rekeyLabels(doc, rekey)
      e.set('order', keys[0])
    }
  }, origin)
  return next
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** Moves a label to `groupId` at `index` among that group's labels (default: last). */
export function moveLabel(
  doc: Y.Doc,
  idOrName: string,
  to: { groupId: string; index?: number },
  origin: DocOrigin,
): Label {
  const p = projectWorkspace(doc)
  const cur = mustLabel(p, idOrName)
  mustGroupId(p, to.groupId)
  if (to.index !== undefined && (!Number.isInteger(to.index) || to.index < 0))
    throw invalid('index must be a non-negative integer', '/index')
  const siblings = labelsIn(p, to.groupId, cur.id)
  const { keys, rekey } = placeAt(siblings, to.index ?? siblings.length)
  doc.transact(() => {
    rekeyLabels(doc, rekey)
    const e = entryOf(labelsOf(doc), cur.id)
    if (!e) return
    if (e.get('groupId') !== to.groupId) e.set('groupId', to.groupId)
    e.set('order', keys[0])
  }, origin)
  return { ...storedLabel(cur), groupId: to.groupId }
}

/** Deletes a label's definition (its results are the engine's to remove, via onDocChange). */
export function deleteLabel(doc: Y.Doc, idOrName: string, origin: DocOrigin): Label {
  const p = projectWorkspace(doc)
  const cur = mustLabel(p, idOrName)
  doc.transact(() => labelsOf(doc).delete(cur.id), origin)
  return storedLabel(cur)
}
