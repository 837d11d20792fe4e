import { describe, expect, it } from 'vitest'
import {
  createGroup,
  createLabel,
  deleteGroup,
  entryOf,
  groupsOf,
  moveGroup,
  moveLabel,
  projectWorkspace,
  repairWorkspace,
} from '../../../shared/doc/index.ts'
import { labelInput, local, newWorkspaceDoc, replicaOf, sync } from './helpers.ts'
import { comparable, expectInvariants } from './invariants.ts'

const tree = (p: ReturnType<typeof projectWorkspace>) => p.groups.map((g) => [g.name, g.children.map((c) => c.name)])

describe('concurrent edits converge to a valid tree', () => {
  it('A moves G1 under G2 while B moves G2 under G1: no cycle, both stay first-level on every replica', () => {
    const base = newWorkspaceDoc()
    const g1 = createGroup(base, { name: 'G1' }, local())
    const g2 = createGroup(base, { name: 'G2' }, local())
    const a = replicaOf(base),
      b = replicaOf(base)
    moveGroup(a, g1.id, { parentId: g2.id }, local('a'))
    moveGroup(b, g2.id, { parentId: g1.id }, local('b'))
    sync(a, b)
    const pa = projectWorkspace(a)
    expect(comparable(pa)).toEqual(comparable(projectWorkspace(b)))
    expect(tree(pa).sort()).toEqual([
      ['Default', []],
      ['G1', []],
      ['G2', []],
    ])
    expectInvariants(a)
    expect(repairWorkspace(a).map((r) => r.kind)).toEqual(['detach-group', 'detach-group'])
    expect(comparable(projectWorkspace(a))).toEqual(comparable(pa))
    expect(repairWorkspace(a)).toEqual([])
  })

  it('a first-level group deleted while another operator moves a label into its subgroup: the label lands in Default', () => {
    const base = newWorkspaceDoc()
    const g = createGroup(base, { name: 'G' }, local())
    const sub = createGroup(base, { name: 'Sub', parentId: g.id }, local())
    const l = createLabel(base, labelInput('x'), local())
    const a = replicaOf(base),
      b = replicaOf(base)
    deleteGroup(a, g.id, local('a'))
    moveLabel(b, l.id, { groupId: sub.id, index: 0 }, local('b'))
    sync(a, b)
    const p = projectWorkspace(a)
    expect(comparable(p)).toEqual(comparable(projectWorkspace(b)))
    expect(tree(p)).toEqual([['Default', []]])
    expect(p.labels.map((x) => [x.name, x.groupId, x.rawGroupId])).toEqual([['x', 'default', sub.id]])
    expectInvariants(a)
    repairWorkspace(a)
    expect(projectWorkspace(a).labels[0]!.rawGroupId).toBe('default')
  })

  // SPEC §3: "a group whose parent is not a valid first-level group shows as first-level".
  it('a group with subgroups pushed under a first-level group by a raw Yjs write: its subgroups, whose parent is no longer first-level, show first-level', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    const b = createGroup(doc, { name: 'B' }, local())
    createGroup(doc, { name: 'B1', parentId: b.id }, local())
    doc.transact(() => entryOf(groupsOf(doc), b.id)!.set('parentId', a.id)) // bypasses the operations
    expect(tree(projectWorkspace(doc))).toEqual([
      ['Default', []],
      ['A', ['B']],
      ['B1', []],
    ])
    expectInvariants(doc)
  })

  it('a group put under a subgroup by a raw Yjs write shows first-level, and the subgroup stays where it was', () => {
    const doc = newWorkspaceDoc()
    const l = createGroup(doc, { name: 'Lifecycle' }, local())
    const acq = createGroup(doc, { name: 'Acquisition', parentId: l.id }, local())
    const v = createGroup(doc, { name: 'Value' }, local())
    doc.transact(() => entryOf(groupsOf(doc), v.id)!.set('parentId', acq.id)) // bypasses the operations
    expect(tree(projectWorkspace(doc))).toEqual([
      ['Default', []],
      ['Lifecycle', ['Acquisition']],
      ['Value', []],
    ])
    expectInvariants(doc)
  })

  it('a subgroup created under a group that is concurrently moved under another shows first-level: the move stands, never three levels', () => {
    const base = newWorkspaceDoc()
    const a = createGroup(base, { name: 'A' }, local())
    const b = createGroup(base, { name: 'B' }, local())
    const r1 = replicaOf(base),
      r2 = replicaOf(base)
    moveGroup(r1, b.id, { parentId: a.id }, local('1'))
    createGroup(r2, { name: 'B1', parentId: b.id }, local('2'))
    sync(r1, r2)
    expect(tree(projectWorkspace(r1))).toEqual([
      ['Default', []],
      ['A', ['B']],
      ['B1', []],
    ])
    expect(comparable(projectWorkspace(r1))).toEqual(comparable(projectWorkspace(r2)))
    expectInvariants(r1)
  })

  it('two operators creating a label with the same name both keep their label; the younger is flagged', () => {
    const base = newWorkspaceDoc()
    const a = replicaOf(base),
      b = replicaOf(base)
    createLabel(a, labelInput('vip'), local('a'), { id: 'l_a', now: new Date('2024-01-02T00:00:00Z') })
    createLabel(b, labelInput('vip'), local('b'), { id: 'l_b', now: new Date('2024-01-01T00:00:00Z') })
    sync(a, b)
    const p = projectWorkspace(a)
    expect(p.duplicates).toEqual([{ name: 'vip', labelIds: ['l_b', 'l_a'] }])
    // Same order key minted concurrently: the id breaks the tie.
    expect(p.labels.map((l) => [l.id, l.nameConflict])).toEqual([
      ['l_a', true],
      ['l_b', false],
    ])
    expect(comparable(projectWorkspace(b))).toEqual(comparable(p))
  })

  it('a raw write that deletes or renames Default is shown and repaired as Default', () => {
    const doc = newWorkspaceDoc()
    createLabel(doc, labelInput('x'), local())
    doc.transact(() => groupsOf(doc).delete('default'))
    expectInvariants(doc)
    expect(repairWorkspace(doc).map((r) => r.kind)).toEqual(['create-default-group'])
    doc.transact(() => entryOf(groupsOf(doc), 'default')!.set('name', 'Mine'))
    expect(projectWorkspace(doc).groups[0]!.name).toBe('Default')
    repairWorkspace(doc)
    expect(entryOf(groupsOf(doc), 'default')!.get('name')).toBe('Default')
    expectInvariants(doc)
  })
})
