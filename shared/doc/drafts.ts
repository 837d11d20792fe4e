import * as Y from 'yjs'
import type { DataType, Label, LabelType, Schedule } from '../schemas/label.ts'
import type { Rule } from '../schemas/rule.ts'
import { definitionFields } from '../rule-diff.ts'
import { authorsOf, fromY, jsonEqual, type Json } from './rule-y.ts'

/**
 * Shared drafts of label definitions (`doc.getMap('drafts')`, see README "Drafts"):
 *   drafts : Y.Map<draftId, Y.Map>
 *     id, labelId (string | null for a new label), base (the published definition it started
 *     from, plain JSON, null for a new label), createdBy, createdAt (ISO, informational only),
 *     name, displayName, groupId, dataType, labelType, enabled, description (scalars),
 *     schedule, rule (nested Y types, rule-y.ts), and `~by:<field>` authorship keys.
 * The draft of an existing label has the id `draftIdFor(labelId)`, so two operators opening it
 * at once write the same key: there is never more than one draft per label.
 */
export const draftsOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('drafts')

/** The editable definition fields (docs/model.md#label-fields), in form order: a version's fields. */
export const DRAFT_FIELDS = definitionFields
export type DraftField = (typeof DRAFT_FIELDS)[number]

/** A label's definition without its identity and timestamps (what a draft edits and publishes). */
export type LabelDefinition = Omit<Label, 'id' | 'createdAt' | 'updatedAt'>

/** The one draft id an existing label's draft can have. */
export const draftIdFor = (labelId: string): string => `d_${labelId}`

/** A draft as every replica shows it. */
export interface DraftView {
  id: string
  /** The label it edits; null for a "New label" draft. */
  labelId: string | null
  /** The published definition the draft started from (null for a new label). */
  base: LabelDefinition | null
  definition: LabelDefinition
  /** Fields whose value differs from `base` (every field for a new label). */
  changed: DraftField[]
  createdBy: string
  createdAt: string
  /** Who last wrote each path (JSON pointers like /displayName, /rule/values/1/when/value); values the draft started with have no entry. */
  authors: Record<string, string>
  /** Everyone who wrote something in the draft (the opener included), sorted. */
  editors: string[]
  /**
   * Which Y.Map holds the draft (its Yjs item id, the same on every replica). Two operators
   * opening one label's draft at once (one offline) both write key `d_<label>`; one map wins and
   * this changes, which is how the loser's page knows to write its edits again (draft-recovery.ts).
   */
  instance: string
  /** The `instance` this map was written over ('' if none): set when a draft is re-opened after a discard or publish. */
  replaced: string
}

export interface DraftsProjection {
  drafts: DraftView[]
  /** labelId → its draft (the smallest id if raw writes made several). */
  byLabel: Record<string, DraftView>
  byId: Record<string, DraftView>
}

const str = (v: unknown, fallback: string): string => (typeof v === 'string' ? v : fallback)

/** The entry's Y.Map, or undefined (missing or junk). */
export function draftEntry(doc: Y.Doc, draftId: string): Y.Map<unknown> | undefined {
  const v = draftsOf(doc).get(draftId)
  return v instanceof Y.Map ? (v as Y.Map<unknown>) : undefined
}

/**
 * The definition a draft holds, as plain JSON. Missing fields take the new-label defaults;
 * wrong-typed ones are passed through unchanged so publishing refuses them with their path.
 */
export function definitionOf(m: Y.Map<unknown>): LabelDefinition {
  const field = (k: DraftField, fallback: Json): Json => (m.has(k) ? fromY(m.get(k)) : fallback)
  return {
    name: field('name', '') as string,
    displayName: field('displayName', '') as string,
    groupId: field('groupId', 'default') as string,
    dataType: field('dataType', 'string') as DataType,
    labelType: field('labelType', 'dynamic') as LabelType,
    schedule: field('schedule', { kind: 'daily', at: '00:00' }) as Schedule,
    enabled: field('enabled', true) as boolean,
    description: field('description', '') as string,
    rule: field('rule', { method: 'import' }) as unknown as Rule,
  }
}

/** The plain JSON definition of a draft; undefined when there is no such draft. Pure. */
export function draftDefinition(doc: Y.Doc, draftId: string): LabelDefinition | undefined {
  const m = draftEntry(doc, draftId)
  return m ? definitionOf(m) : undefined
}

function readBase(v: unknown): LabelDefinition | null {
  const j = fromY(v)
  return j && typeof j === 'object' && !Array.isArray(j) ? (j as unknown as LabelDefinition) : null
}

const idText = (id: Y.ID | null | undefined): string => (id ? `${id.client}:${id.clock}` : '')

/**
 * Which map holds a draft (its Yjs item id) and which one it was written over (the item that was
 * left of it under the same key: the discarded or published draft it re-opens), with exported
 * Yjs API: a relative position in a type names the type's own id, and `getItem` finds its Item.
 */
function identityOf(m: Y.Map<unknown>): { instance: string; replaced: string } {
  const id = typeIdOf(m)
  if (!id || !m.doc) return { instance: '', replaced: '' }
  const item = Y.getItem(m.doc.store, id)
  return { instance: idText(id), replaced: item instanceof Y.Item ? idText(item.origin) : '' }
}

/**
 * A nested type's own Yjs id, with exported API (a relative position in a type names the type's
 * id); null for a root type or one not in a document.
 */
export function typeIdOf<E>(t: Y.AbstractType<E>): Y.ID | null {
  return t.doc && t.parent ? Y.createRelativePositionFromTypeIndex(t, 0, -1).type : null
}

/**
 * The key under which a type sits in its parent map (null in an array, or for a root type), with
 * the same exported Yjs API as identityOf: no `type._item` (issue 12, item 11).
 */
export function keyInParent<E>(t: Y.AbstractType<E>): string | null {
  const id = typeIdOf(t)
  if (!id || !t.doc) return null
  const item = Y.getItem(t.doc.store, id)
  return item instanceof Y.Item ? item.parentSub : null
}

/** Reads one draft map into its view (tolerates any junk inside). */
export function readDraft(id: string, m: Y.Map<unknown>): DraftView {
  const definition = definitionOf(m)
  const labelId = m.get('labelId')
  const base = readBase(m.get('base'))
  const createdBy = str(m.get('createdBy'), str(m.get('~by'), ''))
  const changed = DRAFT_FIELDS.filter((f) => !base || !jsonEqual(definition[f], base[f]))
  const all: Record<string, string> = {}
  authorsOf(m, '', '', all)
  // Starting values carry no author (''); bookkeeping keys are not fields.
  const bookkeeping = new Set(['/id', '/labelId', '/base', '/createdBy', '/createdAt'])
  const authors: Record<string, string> = {}
  for (const [path, by] of Object.entries(all)) if (by && !bookkeeping.has(path)) authors[path] = by
  const editors = [...new Set([createdBy, ...Object.values(authors)].filter(Boolean))].sort()
  return {
    id,
    labelId: typeof labelId === 'string' ? labelId : null,
    base,
    definition,
    changed,
    createdBy,
    createdAt: str(m.get('createdAt'), ''),
    authors,
    editors,
    ...identityOf(m),
  }
}

/**
 * Pure, deterministic view of every draft: any two replicas with the same updates list the
 * same drafts (by id) with the same definitions, authors and changed fields. Junk entries
 * (not a map) are skipped; `repairWorkspace` drops them on the server.
 */
export function projectDrafts(doc: Y.Doc): DraftsProjection {
  const drafts: DraftView[] = []
  draftsOf(doc).forEach((v, id) => {
    if (v instanceof Y.Map) drafts.push(readDraft(id, v as Y.Map<unknown>))
  })
  return indexDrafts(drafts)
}

function indexDrafts(drafts: DraftView[]): DraftsProjection {
  drafts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const byLabel: Record<string, DraftView> = {}
  const byId: Record<string, DraftView> = {}
  for (const d of drafts) {
    byId[d.id] = d
    if (d.labelId !== null && !byLabel[d.labelId]) byLabel[d.labelId] = d
  }
  return { drafts, byLabel, byId }
}

/**
 * The ids of the drafts a transaction wrote in (or added, replaced or removed): the keys it
 * changed in the drafts root, and the draft holding each nested type it changed. Empty for a
 * transaction that touched no draft.
 */
export function draftsTouched(tr: Y.Transaction): Set<string> {
  const root = draftsOf(tr.doc) as Y.AbstractType<unknown>
  const ids = new Set<string>()
  for (const [type, keys] of tr.changed) {
    if (type === root) {
      for (const k of keys) if (k !== null) ids.add(k)
      continue
    }
    let top = type as Y.AbstractType<unknown>
    while (top.parent && top.parent !== root) top = top.parent as Y.AbstractType<unknown>
    const key = top.parent === root ? keyInParent(top) : null
    if (key) ids.add(key)
  }
  return ids
}

/**
 * `projectDrafts(doc)` after updates that wrote only in the drafts `ids` (draftsTouched), from
 * the projection before them: only those drafts are read again, the others are `prev`'s objects.
 * Equal to a whole projection (tests/shared/doc/drafts-touched.test.ts).
 */
export function reprojectDrafts(doc: Y.Doc, prev: DraftsProjection, ids: Iterable<string>): DraftsProjection {
  const byId = { ...prev.byId }
  for (const id of ids) {
    const m = draftsOf(doc).get(id)
    if (m instanceof Y.Map) byId[id] = readDraft(id, m as Y.Map<unknown>)
    else delete byId[id]
  }
  return indexDrafts(Object.values(byId))
}

/**
 * What a transaction wrote, for readers that re-project after updates: `drafts` when it touched
 * the drafts (the root or inside a draft), `workspace` when it touched anything that is not
 * inside a draft — the groups, the labels, or the drafts root itself (a junk entry there is a
 * repair the workspace projection lists). A keystroke in a draft is `{drafts: true, workspace: false}`.
 */
export function transactionScope(tr: Y.Transaction): { drafts: boolean; workspace: boolean } {
  const root = draftsOf(tr.doc) as unknown
  let drafts = false,
    workspace = false
  for (const type of tr.changed.keys()) {
    let top: Y.AbstractType<unknown> = type as Y.AbstractType<unknown>
    while (top.parent) top = top.parent as Y.AbstractType<unknown>
    if (top === root) {
      drafts = true
      if (type === root) workspace = true
    } else workspace = true
    if (drafts && workspace) break
  }
  return { drafts, workspace }
}
