import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { ensureDefaultGroup } from '../../shared/doc/default-group.ts'
import { createGroup } from '../../shared/doc/group-operations.ts'
import { createLabel, moveLabel, updateLabel } from '../../shared/doc/label-operations.ts'
import type { DocOrigin } from '../../shared/doc/origin.ts'
import { projectWorkspace } from '../../shared/doc/projection.ts'
import { repairWorkspace } from '../../shared/doc/repair.ts'
import { makeUndoManager } from '../../client/sync/undo.ts'

/** Two operators' replicas kept in step in memory, each update relayed with a "remote" origin. */
function replicas() {
  const server = new Y.Doc()
  ensureDefaultGroup(server)
  createLabel(
    server,
    {
      name: 'buyers',
      displayName: 'Buyers',
      groupId: 'default',
      dataType: 'boolean',
      labelType: 'static',
      rule: { method: 'import' },
    },
    { kind: 'rest', actor: 'seed' },
    { id: 'l_buyers' },
  )
  const a = new Y.Doc()
  const b = new Y.Doc()
  Y.applyUpdate(a, Y.encodeStateAsUpdate(server))
  Y.applyUpdate(b, Y.encodeStateAsUpdate(server))
  const relay = { kind: 'remote' } // what a provider would be: an origin no undo manager tracks
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== relay && Y.applyUpdate(b, u, relay))
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== relay && Y.applyUpdate(a, u, relay))
  const oa: DocOrigin = { kind: 'local', actor: 'alice' }
  const ob: DocOrigin = { kind: 'local', actor: 'bob' }
  const [undoA] = makeUndoManager(a, oa)
  const [undoB] = makeUndoManager(b, ob)
  return { a, b, oa, ob, undoA, undoB }
}

const groupNames = (doc: Y.Doc) =>
  Object.values(projectWorkspace(doc).groupsById)
    .map((g) => g.name)
    .sort()

describe('undo per operator (Y.UndoManager with tracked origins)', () => {
  it("undoes only the local replica's own edit, on both replicas, and keeps the other operator's", () => {
    const { a, b, oa, ob, undoA } = replicas()
    createGroup(a, { name: 'Campaigns' }, oa)
    createGroup(b, { name: 'Ops' }, ob)
    expect(groupNames(a)).toEqual(['Campaigns', 'Default', 'Ops'])
    expect(undoA.canUndo()).toBe(true)
    undoA.undo()
    expect(groupNames(a)).toEqual(['Default', 'Ops'])
    expect(groupNames(b)).toEqual(['Default', 'Ops'])
    expect(undoA.canUndo()).toBe(false) // bob's group is not on alice's stack
    undoA.redo()
    expect(groupNames(b)).toEqual(['Campaigns', 'Default', 'Ops'])
  })

  it("reverts one field of a label and leaves another operator's concurrent edit of another field", () => {
    const { a, b, oa, ob, undoA } = replicas()
    const g = createGroup(b, { name: 'Ops' }, ob)
    moveLabel(a, 'l_buyers', { groupId: g.id }, oa)
    updateLabel(b, 'l_buyers', { displayName: 'Buyers (bob)' }, ob)
    undoA.undo()
    for (const doc of [a, b]) {
      const l = projectWorkspace(doc).labels.find((x) => x.id === 'l_buyers')
      expect(l?.groupId).toBe('default')
      expect(l?.displayName).toBe('Buyers (bob)')
    }
    expect(groupNames(b)).toEqual(['Default', 'Ops'])
  })

  it('never undoes a remote update, a REST write or a server repair made on the same replica', () => {
    const { a, b, oa, ob, undoA, undoB } = replicas()
    createGroup(b, { name: 'Ops' }, ob) // arrives at a as a remote update
    createGroup(a, { name: 'Server made' }, { kind: 'server', actor: 'server' })
    expect(undoA.canUndo()).toBe(false)
    // A label left in a missing group (a raw write), then put back into Default by a repair.
    a.transact(() => a.getMap<Y.Map<unknown>>('labels').get('l_buyers')!.set('groupId', 'gone'), {
      kind: 'server',
      actor: 'server',
    })
    expect(repairWorkspace(a).length).toBeGreaterThan(0)
    expect(undoA.canUndo()).toBe(false)
    createGroup(a, { name: 'Mine' }, oa)
    undoA.undo()
    expect(groupNames(a)).toEqual(['Default', 'Ops', 'Server made'])
    expect(undoB.canUndo()).toBe(true)
  })

  it('makes each tree edit its own step, however quickly it follows the last', () => {
    const { a, oa, undoA } = replicas()
    createGroup(a, { name: 'One' }, oa)
    createGroup(a, { name: 'Two' }, oa)
    undoA.undo()
    expect(groupNames(a)).toEqual(['Default', 'One'])
    undoA.undo()
    expect(groupNames(a)).toEqual(['Default'])
  })

  it('merges draft edits made within the capture time into one step (typing), and tracks the drafts map', () => {
    const { a, b, oa, undoA } = replicas()
    const drafts = a.getMap<Y.Map<unknown>>('drafts')
    a.transact(() => drafts.set('l_buyers', new Y.Map()), oa)
    undoA.stopCapturing()
    const d = drafts.get('l_buyers')!
    a.transact(() => d.set('displayName', 'B'), oa)
    a.transact(() => d.set('displayName', 'Bu'), oa)
    a.transact(() => d.set('displayName', 'Buy'), oa)
    expect(b.getMap<Y.Map<unknown>>('drafts').get('l_buyers')?.get('displayName')).toBe('Buy')
    undoA.undo()
    expect(b.getMap<Y.Map<unknown>>('drafts').get('l_buyers')?.get('displayName')).toBeUndefined()
    undoA.undo()
    expect(b.getMap('drafts').has('l_buyers')).toBe(false)
  })
})
