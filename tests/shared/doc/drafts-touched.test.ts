import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  createGroup,
  createLabel,
  discardDraft,
  draftsTouched,
  openDraft,
  projectDrafts,
  renameGroup,
  reprojectDrafts,
  setDraftField,
} from '../../../shared/doc/index.ts'
import { DEFAULT_GROUP_ID } from '../../../shared/schemas/group.ts'
import { makeRng } from '../../../shared/prng.ts'
import { labelInput, local, newWorkspaceDoc, replicaOf } from './helpers.ts'
import { randomDraftEdit, randomEdit } from './random-edit.ts'

/**
 * The browser re-reads only the drafts an update wrote in (client/features/labels/draft-state.ts):
 * `reprojectDrafts(doc, before, ids gathered by draftsTouched)` must equal `projectDrafts(doc)`,
 * for local edits and for updates arriving from another replica, in batches.
 */
describe('draftsTouched + reprojectDrafts', () => {
  it('equal a whole projection after random draft and workspace edits, local and remote', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = makeRng(seed)
      const a = newWorkspaceDoc()
      for (let i = 0; i < 4; i++) createLabel(a, labelInput(`base${i}`), local())
      const b = replicaOf(a)
      const track = (doc: Y.Doc) => {
        const t = { projection: projectDrafts(doc), touched: new Set<string>() }
        doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
          for (const id of draftsTouched(tr)) t.touched.add(id)
        })
        return t
      }
      const ta = track(a),
        tb = track(b)
      const check = (doc: Y.Doc, t: ReturnType<typeof track>) => {
        t.projection = reprojectDrafts(doc, t.projection, t.touched)
        t.touched.clear()
        expect(t.projection).toEqual(projectDrafts(doc))
      }
      let sv = Y.encodeStateVector(b)
      for (let n = 0; n < 100; n++) {
        if (rng.bool(0.75)) randomDraftEdit(a, rng, rng.pick(['ada', 'eve']), n)
        else randomEdit(a, rng, 'ada', n)
        check(a, ta)
        if (rng.bool(0.3)) {
          // A batch of a's updates arrives at b as one remote update.
          Y.applyUpdate(b, Y.encodeStateAsUpdate(a, sv), 'remote')
          sv = Y.encodeStateVector(b)
          check(b, tb)
        }
      }
      Y.applyUpdate(b, Y.encodeStateAsUpdate(a, sv), 'remote')
      check(b, tb)
      expect(tb.projection.drafts.length).toBe(projectDrafts(a).drafts.length)
    }
  })

  it('a tree edit touches no draft; a draft keystroke touches that draft only', () => {
    const doc = newWorkspaceDoc()
    const label = createLabel(doc, labelInput('one'), local())
    const d1 = openDraft(doc, { labelId: label.id }, local())
    const d2 = openDraft(doc, { groupId: DEFAULT_GROUP_ID, rule: { method: 'import' } }, local())
    const seen: string[][] = []
    doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => seen.push([...draftsTouched(tr)]))
    const g = createGroup(doc, { name: 'Tree' }, local())
    renameGroup(doc, g.id, 'Tree 2', local())
    setDraftField(doc, d2.id, 'displayName', 'typed', local())
    discardDraft(doc, d1.id, local())
    expect(seen).toEqual([[], [], [d2.id], [d1.id]])
  })
})
