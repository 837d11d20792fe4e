import type * as Y from 'yjs'
import {
  createGroup,
  createLabel,
  deleteGroup,
  deleteLabel,
  discardDraft,
  editDraft,
  entryOf,
  groupsOf,
  labelsOf,
  moveGroup,
  moveLabel,
  openDraft,
  projectDrafts,
  projectWorkspace,
  publishDraft,
  renameGroup,
  setDraftField,
  updateDraft,
  updateLabel,
} from '../../../shared/doc/index.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import type { LabelDefinition } from '../../../shared/doc/drafts.ts'
import { LabelsError } from '../../../shared/errors.ts'
import type { Rng } from '../../../shared/prng.ts'
import { labelInput, local } from './helpers.ts'

/** One random edit through the operations, or (sometimes) a raw write that breaks invariants. */
export function randomEdit(doc: Y.Doc, rng: Rng, actor: string, n: number): void {
  const p = projectWorkspace(doc)
  const gids = Object.keys(p.groupsById)
  const lids = p.labels.map((l) => l.id)
  const g = () => rng.pick(gids)
  const o = local(actor)
  const kind = rng.weighted(
    ['cg', 'csg', 'rg', 'mg', 'dg', 'cl', 'ul', 'ml', 'dl', 'raw-parent', 'raw-group'],
    [6, 5, 2, 8, 2, 8, 4, 8, 2, 2, 2],
  )
  try {
    switch (kind) {
      case 'cg':
        return void createGroup(doc, { name: `g${n}` }, o)
      case 'csg':
        return void createGroup(doc, { name: `s${n}`, parentId: g() }, o)
      case 'rg':
        return void renameGroup(doc, g(), `r${n}`, o)
      case 'mg':
        return void moveGroup(doc, g(), { parentId: rng.bool(0.4) ? null : g(), index: rng.int(0, 5) }, o)
      case 'dg':
        return void deleteGroup(doc, g(), o)
      case 'cl':
        return void createLabel(doc, labelInput(`l${rng.int(0, 60)}`, { groupId: g() }), o)
      case 'ul':
        if (lids.length)
          updateLabel(doc, rng.pick(lids), rng.bool() ? { displayName: `d${n}` } : { name: `l${rng.int(0, 60)}` }, o)
        return
      case 'ml':
        if (lids.length) moveLabel(doc, rng.pick(lids), { groupId: g(), index: rng.int(0, 6) }, o)
        return
      case 'dl':
        if (lids.length && rng.bool(0.5)) deleteLabel(doc, rng.pick(lids), o)
        return
      case 'raw-parent':
        return void doc.transact(() => entryOf(groupsOf(doc), g())?.set('parentId', rng.bool(0.2) ? 'ghost' : g()), o)
      case 'raw-group':
        if (lids.length)
          doc.transact(() => entryOf(labelsOf(doc), rng.pick(lids))?.set('groupId', rng.bool() ? 'ghost' : g()), o)
        return
    }
  } catch (e) {
    if (!(e instanceof LabelsError)) throw e // rule violations are expected; anything else is a bug
  }
}

const customRule: Rule = {
  method: 'custom',
  values: [
    { value: 'a', when: { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 1 } },
    {
      value: 'b',
      when: {
        all: [
          { attribute: 'city', op: 'eq', value: 'Paris' },
          { event: 'view', op: 'gte', value: 2 },
        ],
      },
    },
  ],
  otherwise: 'c',
}

/** What each replica's form last showed of each draft: 'form' edits are made from it, as a page's are (it renders others' edits a frame late). */
const shown = new WeakMap<Y.Doc, Map<string, LabelDefinition>>()

/** The form's edit: one layer's value, a condition's threshold or the otherwise value changed in the definition it showed. */
function formEdit(def: LabelDefinition, rng: Rng, n: number): Partial<LabelDefinition> {
  const rule = structuredClone(def.rule) as Rule & { values?: { value: unknown; when?: { value?: unknown } }[] }
  const layers = Array.isArray(rule.values) ? rule.values : []
  const layer = layers.length ? rng.pick(layers) : undefined
  if (layer && rng.bool()) layer.value = `form${n}`
  else if (layer?.when && typeof layer.when === 'object' && 'value' in layer.when) layer.when.value = rng.int(0, 99)
  else if (rng.bool()) return { displayName: `form${n}` }
  else (rule as { otherwise?: unknown }).otherwise = `o${n}`
  return { rule: rule as Rule }
}

/**
 * One random draft operation (open/join, field and rule edits at random paths, form edits made
 * from an older view, discard, publish). Invalid edits are allowed: a draft may hold anything,
 * publishing refuses it.
 */
export function randomDraftEdit(doc: Y.Doc, rng: Rng, actor: string, n: number): void {
  const labels = projectWorkspace(doc).labels
  const drafts = projectDrafts(doc).drafts
  const o = local(actor)
  const d = () => rng.pick(drafts)
  const kind = rng.weighted(
    ['open', 'new', 'field', 'rule', 'path', 'insert', 'remove', 'move', 'inner', 'form', 'discard', 'publish'],
    [4, 2, 6, 5, 8, 3, 3, 5, 4, 5, 1, 2],
  )
  try {
    switch (kind) {
      case 'open':
        if (labels.length) openDraft(doc, { labelId: rng.pick(labels).id }, o)
        return
      case 'new':
        return void openDraft(
          doc,
          { rule: rng.bool() ? customRule : { method: 'metric', event: 'purchase', measure: { agg: 'count' } } },
          o,
        )
      case 'field':
        if (drafts.length)
          setDraftField(
            doc,
            d().id,
            rng.pick(['displayName', 'description', 'name'] as const),
            rng.bool(0.2) ? '' : `f${n}`,
            o,
          )
        return
      case 'rule':
        if (drafts.length)
          updateDraft(
            doc,
            d().id,
            {
              rule: rng.bool()
                ? customRule
                : {
                    method: 'metric',
                    event: 'purchase',
                    window: { lastDays: rng.int(1, 90) },
                    measure: { agg: 'count' },
                  },
            },
            o,
          )
        return
      case 'path': {
        if (!drafts.length) return
        const paths = Object.keys(d().authors).filter((p) => p.startsWith('/rule/') || p.startsWith('/schedule/'))
        if (!paths.length) return
        const path = rng.pick(paths)
        const value = rng.pick<unknown>([rng.int(0, 100), `v${n}`, true, null, { lastDays: rng.int(1, 30) }, [1, 2]])
        return void editDraft(doc, d().id, [{ op: 'set', path, value }], o)
      }
      case 'insert':
        if (drafts.length)
          editDraft(
            doc,
            d().id,
            [
              {
                op: 'insert',
                path: '/rule/values',
                index: rng.int(0, 2),
                value: { value: `x${n}`, when: { event: 'purchase', op: 'gte', value: rng.int(1, 9) } },
              },
            ],
            o,
          )
        return
      case 'remove':
        if (drafts.length) editDraft(doc, d().id, [{ op: 'remove', path: '/rule/values', index: rng.int(0, 2) }], o)
        return
      case 'move': {
        // A layer, a condition of an `all`, or an `in` value: whatever lists the draft holds.
        if (!drafts.length) return
        const lists = Object.keys(d().authors)
          .map((p) => /^(.*)\/\d+(?:\/|$)/.exec(p)?.[1])
          .filter((p): p is string => !!p && p.startsWith('/rule/'))
        if (!lists.length) return
        const path = rng.pick(lists)
        return void editDraft(doc, d().id, [{ op: 'move', path, from: rng.int(0, 3), to: rng.int(0, 3) }], o)
      }
      case 'inner': {
        // An edit inside a list item (the layer's value, a condition's threshold), typed as the form writes it.
        if (!drafts.length) return
        const paths = Object.keys(d().authors).filter((p) => /^\/rule\/values\/\d+\/(value|when\/.*value)$/.test(p))
        if (!paths.length) return
        const path = rng.pick(paths)
        const value = path.endsWith('/when/value') || /\/all\/\d+\/value$/.test(path) ? rng.int(0, 99) : `i${n}`
        return void editDraft(doc, d().id, [{ op: 'set', path, value }], o)
      }
      case 'form': {
        // The form shows what this replica had at its last form edit (or now, the first time),
        // then catches up: the edit is written as a change from that view (updateDraft's base).
        if (!drafts.length) return
        const draft = d()
        const forms = shown.get(doc) ?? new Map<string, LabelDefinition>()
        shown.set(doc, forms)
        const view = forms.get(draft.id) ?? draft.definition
        forms.set(draft.id, draft.definition)
        updateDraft(doc, draft.id, formEdit(view, rng, n), o, view)
        return
      }
      case 'discard':
        if (drafts.length) discardDraft(doc, d().id, o)
        return
      case 'publish':
        if (drafts.length) publishDraft(doc, d().id, o)
        return
    }
  } catch (e) {
    if (!(e instanceof LabelsError)) throw e
  }
}
