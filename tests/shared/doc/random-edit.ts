import * as Y from 'yjs'
import {
  createGroup, createLabel, deleteGroup, deleteLabel, entryOf, groupsOf, labelsOf, moveGroup, moveLabel,
  projectWorkspace, renameGroup, updateLabel,
} from '../../../shared/doc/index.ts'
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
      case 'cg': return void createGroup(doc, { name: `g${n}` }, o)
      case 'csg': return void createGroup(doc, { name: `s${n}`, parentId: g() }, o)
      case 'rg': return void renameGroup(doc, g(), `r${n}`, o)
      case 'mg': return void moveGroup(doc, g(), { parentId: rng.bool(0.4) ? null : g(), index: rng.int(0, 5) }, o)
      case 'dg': return void deleteGroup(doc, g(), o)
      case 'cl': return void createLabel(doc, labelInput(`l${rng.int(0, 60)}`, { groupId: g() }), o)
      case 'ul': if (lids.length) updateLabel(doc, rng.pick(lids), rng.bool() ? { displayName: `d${n}` } : { name: `l${rng.int(0, 60)}` }, o); return
      case 'ml': if (lids.length) moveLabel(doc, rng.pick(lids), { groupId: g(), index: rng.int(0, 6) }, o); return
      case 'dl': if (lids.length && rng.bool(0.5)) deleteLabel(doc, rng.pick(lids), o); return
      case 'raw-parent': return void doc.transact(() => entryOf(groupsOf(doc), g())?.set('parentId', rng.bool(0.2) ? 'ghost' : g()), o)
      case 'raw-group': if (lids.length) doc.transact(() => entryOf(labelsOf(doc), rng.pick(lids))?.set('groupId', rng.bool() ? 'ghost' : g()), o); return
    }
  } catch (e) {
    if (!(e instanceof LabelsError)) throw e // rule violations are expected; anything else is a bug
  }
}

