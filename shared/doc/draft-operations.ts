import * as Y from 'yjs'
import { badRequest, conflict, notFound } from '../errors.ts'
import { DEFAULT_GROUP_ID } from '../schemas/group.ts'
import { defaultSchedule, type Label, type LabelInput, type LabelPatch } from '../schemas/label.ts'
import type { TSchema } from 'typebox'
import {
  CustomRule,
  DistributionRule,
  FirstLastRule,
  ImportRule,
  MetricRule,
  PreferenceRule,
  type Rule,
} from '../schemas/rule.ts'
import { check } from '../schemas/validate.ts'
import {
  DRAFT_FIELDS,
  draftEntry,
  draftIdFor,
  draftsOf,
  definitionOf,
  readDraft,
  type DraftField,
  type DraftView,
  type LabelDefinition,
} from './drafts.ts'
import type { OpOptions } from './group-operations.ts'
import { createLabel, updateLabel } from './label-operations.ts'
import type { DocOrigin } from './origin.ts'
import { findLabel, projectWorkspace, storedLabel, type ProjectedLabel } from './projection.ts'
import { assign, assignChanged, insertAt, jsonEqual, moveAt, removeAt, setAt } from './rule-y.ts'
import { newId } from './shape.ts'

/** Where a draft starts from: an existing label, a given definition (a restored version), or blank. */
export interface OpenDraftFrom {
  /** The label to edit; its draft is joined if one is open. */
  labelId?: string | null
  /** Field values to start with (restore a version as a draft); over the label's or the blank ones. */
  definition?: Partial<LabelDefinition>
  /** Group of a blank new-label draft. */
  groupId?: string
  /** Rule of a blank new-label draft (default: import). */
  rule?: Rule
}

function mustDraft(doc: Y.Doc, draftId: string): Y.Map<unknown> {
  const m = draftEntry(doc, draftId)
  if (!m) throw notFound(`draft ${draftId} not found`, '/draft')
  return m
}

const isField = (k: string): k is DraftField => (DRAFT_FIELDS as readonly string[]).includes(k)

/** JSON-only copy of an operator's value (drops undefined, functions, proxies). */
const plainJson = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))

function definitionOfLabel(l: Label): LabelDefinition {
  const { name, displayName, groupId, dataType, labelType, schedule, enabled, description, rule } = l
  return plainJson({
    name,
    displayName,
    groupId,
    dataType,
    labelType,
    schedule,
    enabled,
    description,
    rule,
  }) as LabelDefinition
}

function blankDefinition(groupId: string, rule: Rule): LabelDefinition {
  return {
    name: '',
    displayName: '',
    groupId,
    dataType: 'string',
    labelType: 'dynamic',
    schedule: { kind: 'daily', at: '00:00' },
    enabled: true,
    description: '',
    rule,
  }
}

/**
 * Opens a draft: of a label (joins the label's draft if one is open: at most one per label),
 * of a new label (blank, or from `definition`), or a restored version of a label (`labelId` +
 * `definition`: the draft's fields become that definition, `base` stays the published one).
 * One transaction; no write when joining without a definition.
 */
export function openDraft(doc: Y.Doc, from: OpenDraftFrom, origin: DocOrigin, opts: OpOptions = {}): DraftView {
  const actor = origin.actor
  const labelId = from.labelId ?? null
  const definition = from.definition ? (plainJson(from.definition) as Partial<LabelDefinition>) : undefined
  if (labelId !== null) {
    const label = findLabel(projectWorkspace(doc), labelId)
    if (!label) throw notFound(`label ${labelId} not found`, '/labelId')
    const id = draftIdFor(label.id)
    const existing = draftEntry(doc, id)
    if (existing) {
      if (definition) doc.transact(() => writeFields(existing, definition, actor), origin)
      return readDraft(id, existing)
    }
    const base = definitionOfLabel(label)
    let entry: Y.Map<unknown> | undefined
    doc.transact(() => {
      entry = putDraft(doc, id, label.id, base, base, actor, opts)
      if (definition) writeFields(entry, definition, actor) // a restored version: the restorer's change
    }, origin)
    return readDraft(id, entry as Y.Map<unknown>)
  }
  const id = opts.id ?? newId('d')
  if (draftsOf(doc).has(id)) throw conflict(`draft ${id} already exists`, '/id')
  const start = {
    ...blankDefinition(from.groupId ?? DEFAULT_GROUP_ID, from.rule ?? { method: 'import' }),
    ...definition,
  }
  // As POST /api/labels: a label type without a schedule takes that type's default schedule.
  if (definition?.labelType && !definition.schedule) start.schedule = defaultSchedule(definition.labelType)
  let entry: Y.Map<unknown> | undefined
  doc.transact(() => {
    entry = putDraft(
      doc,
      id,
      null,
      null,
      blankDefinition(from.groupId ?? DEFAULT_GROUP_ID, from.rule ?? { method: 'import' }),
      actor,
      opts,
    )
    writeFields(entry, start, actor)
  }, origin)
  return readDraft(id, entry as Y.Map<unknown>)
}

function putDraft(
  doc: Y.Doc,
  id: string,
  labelId: string | null,
  base: LabelDefinition | null,
  fields: Partial<LabelDefinition>,
  actor: string,
  opts: OpOptions,
): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('id', id)
  m.set('labelId', labelId)
  m.set('base', base)
  m.set('createdBy', actor)
  // Informational only (nothing is ordered or decided by it), so a client clock is acceptable;
  // REST drafts get the server's clock.
  m.set('createdAt', (opts.now ?? new Date()).toISOString())
  m.set('~by', actor)
  draftsOf(doc).set(id, m)
  // Written after the map is integrated, so nested types are created in place. The starting
  // values have no author (''): a copy of the label is nobody's change, so only real edits are
  // attributed (and reported as overwritten).
  for (const f of DRAFT_FIELDS) if (fields[f] !== undefined) assign(m, f, fields[f], '')
  return m
}

function writeFields(
  m: Y.Map<unknown>,
  patch: Partial<Record<string, unknown>>,
  actor: string,
  base?: Partial<Record<string, unknown>>,
): void {
  for (const [k, v] of Object.entries(patch)) {
    if (!isField(k)) throw badRequest(`${k} is not a draft field`, `/${k}`)
    if (v === undefined) continue
    if (base && base[k] !== undefined) assignChanged(m, k, plainJson(base[k]), plainJson(v), actor)
    else assign(m, k, plainJson(v), actor)
  }
}

/**
 * Edits draft fields in one transaction. Each field is written with the smallest change: a
 * scalar is set, `schedule` and `rule` are patched key by key / item by item (rule-y.ts), so an
 * operator's whole-rule edit only touches what they changed and merges with others' edits.
 * `base` is the definition the edit was made from (what the operator's form showed): with it,
 * only what the patch changes from it is written, so another operator's change that reached the
 * document but not yet the form is kept (assignChanged); without it, each field is made equal to
 * the patch.
 */
export function updateDraft(
  doc: Y.Doc,
  draftId: string,
  patch: Partial<LabelDefinition>,
  origin: DocOrigin,
  base?: Partial<LabelDefinition>,
): DraftView {
  const m = mustDraft(doc, draftId)
  doc.transact(() => writeFields(m, patch, origin.actor, base), origin)
  return readDraft(draftId, m)
}

/** Sets one field of a draft. */
export function setDraftField<K extends DraftField>(
  doc: Y.Doc,
  draftId: string,
  field: K,
  value: LabelDefinition[K],
  origin: DocOrigin,
): DraftView {
  if (!isField(field)) throw badRequest(`${String(field)} is not a draft field`, `/${String(field)}`)
  return updateDraft(doc, draftId, { [field]: value } as Partial<LabelDefinition>, origin)
}

/** A structural edit of a draft at a JSON pointer (`/rule/values/1/when/value`, `/schedule/at`, `/displayName`). */
export type DraftEdit =
  | { op: 'set'; path: string; value: unknown }
  | { op: 'insert'; path: string; index: number; value: unknown }
  | { op: 'remove'; path: string; index: number }
  | { op: 'move'; path: string; from: number; to: number }

function checkPath(path: string): void {
  const field = path.split('/')[1] ?? ''
  if (!isField(field)) throw badRequest(`${path}: edits start with a draft field (${DRAFT_FIELDS.join(', ')})`, path)
}

function applyEdits(m: Y.Map<unknown>, edits: DraftEdit[], actor: string): void {
  for (const e of edits) {
    switch (e.op) {
      case 'set':
        setAt(m, e.path, plainJson(e.value), actor)
        break
      case 'insert':
        insertAt(m, e.path, e.index, plainJson(e.value), actor)
        break
      case 'remove':
        removeAt(m, e.path, e.index)
        break
      case 'move':
        moveAt(m, e.path, e.from, e.to, actor)
        break
    }
  }
}

/**
 * Applies path edits to a draft in one transaction, all or nothing: they are first tried on a
 * scratch copy of the draft (Yjs has no rollback), so a bad path (400) writes nothing.
 */
export function editDraft(doc: Y.Doc, draftId: string, edits: DraftEdit[], origin: DocOrigin): DraftView {
  const m = mustDraft(doc, draftId)
  for (const e of edits) checkPath(e.path)
  // A fixed guid: Y.Doc's default draws a random uuid (31 crypto calls), a quarter of a keystroke's time.
  const scratch = new Y.Doc({ guid: 'draft-scratch' })
  const copy = scratch.getMap<unknown>('draft')
  const def = definitionOf(m)
  scratch.transact(() => {
    for (const f of DRAFT_FIELDS) if (m.has(f)) assign(copy, f, def[f], '')
    applyEdits(copy, edits, '')
  })
  scratch.destroy()
  doc.transact(() => applyEdits(m, edits, origin.actor), origin)
  return readDraft(draftId, m)
}

/** Drops a draft (Discard). The label, if any, is untouched. */
export function discardDraft(doc: Y.Doc, draftId: string, origin: DocOrigin): void {
  mustDraft(doc, draftId)
  doc.transact(() => draftsOf(doc).delete(draftId), origin)
}

/** What publishing a draft would write: a new label's input, or a patch of the fields changed since the draft began. */
export type PublishPlan = { kind: 'create'; input: LabelInput } | { kind: 'update'; labelId: string; patch: LabelPatch }

const ruleBranches: Record<string, TSchema> = {
  custom: CustomRule,
  metric: MetricRule,
  first_last: FirstLastRule,
  preference: PreferenceRule,
  distribution: DistributionRule,
  import: ImportRule,
}

/**
 * Checks a rule against its own method's schema first, so a bad draft names the field that is
 * wrong (/rule/boundaries) rather than the union's first mismatch (/rule/method).
 */
export function checkRuleShape(rule: unknown): void {
  const method = rule && typeof rule === 'object' ? (rule as { method?: unknown }).method : undefined
  const branch = typeof method === 'string' ? ruleBranches[method] : undefined
  if (branch) check(branch, rule, '/rule')
}

/** The write a publish makes; throws 404 for no draft, 409 when the draft's label was deleted, 400 for a rule of the wrong shape. */
export function publishPlan(doc: Y.Doc, draftId: string): PublishPlan {
  const m = mustDraft(doc, draftId)
  const d = readDraft(draftId, m)
  const def = definitionOf(m)
  checkRuleShape(def.rule)
  if (d.labelId === null) return { kind: 'create', input: def }
  if (!findLabel(projectWorkspace(doc), d.labelId))
    throw conflict(`the label of draft ${draftId} was deleted`, '/labelId')
  // Only the fields the draft changed: a field someone else changed on the label meanwhile
  // (REST PATCH, another draft's publish) keeps their value.
  const patch: Record<string, unknown> = {}
  for (const f of DRAFT_FIELDS) if (!d.base || !jsonEqual(def[f], d.base[f])) patch[f] = def[f]
  return { kind: 'update', labelId: d.labelId, patch: patch as LabelPatch }
}

/**
 * Publish: validates the draft (LabelInput/LabelPatch schemas, names, groups, schedule vs type)
 * and, in ONE transaction, creates or updates the label and deletes the draft. The label write is
 * createLabel/updateLabel itself (a nested doc.transact joins this one), so the label change
 * tracker sees an ordinary create/update and the usual run rules follow. Nothing is written
 * when validation fails. The engine's catalogue check is the caller's (server) to make first.
 */
export function publishDraft(doc: Y.Doc, draftId: string, origin: DocOrigin, opts: OpOptions = {}): Label {
  const plan = publishPlan(doc, draftId)
  if (plan.kind === 'update' && Object.keys(plan.patch).length === 0) {
    // Nothing changed: publishing just closes the draft (no label write, no run).
    const unchanged = findLabel(projectWorkspace(doc), plan.labelId) as ProjectedLabel
    doc.transact(() => draftsOf(doc).delete(draftId), origin)
    return storedLabel(unchanged)
  }
  let label: Label | undefined
  doc.transact(() => {
    label =
      plan.kind === 'create'
        ? createLabel(doc, plan.input, origin, opts) // validates before its first write
        : updateLabel(doc, plan.labelId, plan.patch, origin, opts)
    draftsOf(doc).delete(draftId)
  }, origin)
  return label as Label
}
