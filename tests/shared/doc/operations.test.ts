import { describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import {
  createGroup,
  createLabel,
  deleteGroup,
  deleteLabel,
  moveGroup,
  moveLabel,
  projectWorkspace,
  renameGroup,
  updateGroup,
  updateLabel,
  DEFAULT_GROUP_ID,
  labelsOf,
} from '../../../shared/doc/index.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { labelInput, local, newWorkspaceDoc } from './helpers.ts'

function expectError(fn: () => unknown, code: string, path?: string): void {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(LabelsError)
    expect((e as LabelsError).code).toBe(code)
    if (path) expect((e as LabelsError).path).toBe(path)
    return
  }
  throw new Error(`expected a ${code} error`)
}

const names = (doc: Y.Doc) => projectWorkspace(doc).groups.map((g) => [g.name, g.children.map((c) => c.name)])

describe('group operations', () => {
  it('creates first- and second-level groups in order after Default', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    createGroup(doc, { name: 'B' }, local())
    createGroup(doc, { name: 'A1', parentId: a.id }, local())
    expect(names(doc)).toEqual([
      ['Default', []],
      ['A', ['A1']],
      ['B', []],
    ])
  })

  it('each operation is one transaction carrying its origin', () => {
    const doc = newWorkspaceDoc()
    const seen: unknown[] = []
    doc.on('afterTransaction', (tr) => seen.push(tr.origin))
    const o = local('bob')
    const g = createGroup(doc, { name: 'A' }, o)
    createLabel(doc, labelInput('x', { groupId: g.id }), o)
    deleteGroup(doc, g.id, o)
    expect(seen).toEqual([o, o, o])
  })

  it('refuses to rename, delete, nest or parent the Default group', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    expectError(() => renameGroup(doc, DEFAULT_GROUP_ID, 'X', local()), 'conflict', '/name')
    expectError(() => deleteGroup(doc, DEFAULT_GROUP_ID, local()), 'conflict')
    expectError(() => moveGroup(doc, DEFAULT_GROUP_ID, { parentId: a.id }, local()), 'conflict', '/parentId')
    expectError(() => createGroup(doc, { name: 'Sub', parentId: DEFAULT_GROUP_ID }, local()), 'conflict', '/parentId')
  })

  it('keeps at most two levels and never puts a group with subgroups under another', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    const a1 = createGroup(doc, { name: 'A1', parentId: a.id }, local())
    const b = createGroup(doc, { name: 'B' }, local())
    expectError(() => createGroup(doc, { name: 'A1x', parentId: a1.id }, local()), 'conflict', '/parentId')
    expectError(() => moveGroup(doc, a.id, { parentId: b.id }, local()), 'conflict', '/parentId')
    expectError(() => moveGroup(doc, b.id, { parentId: b.id }, local()), 'conflict', '/parentId')
    expectError(() => moveGroup(doc, b.id, { parentId: 'nope' }, local()), 'invalid', '/parentId')
    expectError(() => renameGroup(doc, 'nope', 'x', local()), 'not_found')
    expectError(() => createGroup(doc, { name: '' }, local()), 'bad_request', '/name')
    expectError(() => createGroup(doc, { name: 'x'.repeat(101) }, local()), 'bad_request', '/name')
    moveGroup(doc, b.id, { parentId: a.id, index: 0 }, local())
    expect(names(doc)).toEqual([
      ['Default', []],
      ['A', ['B', 'A1']],
    ])
    moveGroup(doc, a1.id, { parentId: null, index: 0 }, local())
    expect(names(doc)).toEqual([
      ['A1', []],
      ['Default', []],
      ['A', ['B']],
    ])
  })

  it('PATCH-style updateGroup renames and moves in one transaction, or writes nothing when refused', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    const b = createGroup(doc, { name: 'B' }, local())
    createGroup(doc, { name: 'B1', parentId: b.id }, local())
    let transactions = 0
    doc.on('afterTransaction', () => transactions++)
    updateGroup(doc, a.id, { name: 'A2', parentId: null, index: 0 }, local())
    expect(transactions).toBe(1)
    expect(names(doc)).toEqual([
      ['A2', []],
      ['Default', []],
      ['B', ['B1']],
    ])
    expectError(() => updateGroup(doc, b.id, { name: 'B2', parentId: a.id }, local()), 'conflict', '/parentId')
    expect(names(doc)).toEqual([
      ['A2', []],
      ['Default', []],
      ['B', ['B1']],
    ])
    expectError(() => updateGroup(doc, DEFAULT_GROUP_ID, { name: 'X' }, local()), 'conflict', '/name')
  })

  it('deleting a first-level group deletes its subgroups and moves every label to Default', () => {
    const doc = newWorkspaceDoc()
    const a = createGroup(doc, { name: 'A' }, local())
    const a1 = createGroup(doc, { name: 'A1', parentId: a.id }, local())
    createLabel(doc, labelInput('in_default'), local())
    createLabel(doc, labelInput('in_a', { groupId: a.id }), local())
    createLabel(doc, labelInput('in_a1', { groupId: a1.id }), local())
    const r = deleteGroup(doc, a.id, local())
    expect(r.deletedGroupIds.sort()).toEqual([a.id, a1.id].sort())
    const p = projectWorkspace(doc)
    expect(names(doc)).toEqual([['Default', []]])
    expect(p.labels.map((l) => [l.name, l.groupId, l.rawGroupId])).toEqual([
      ['in_default', 'default', 'default'],
      ['in_a', 'default', 'default'],
      ['in_a1', 'default', 'default'],
    ])
    expect(p.repairs).toEqual([])
  })
})

describe('label operations', () => {
  it('creates a static label with schedule once in Default, and refuses a taken name with 409', () => {
    const doc = newWorkspaceDoc()
    const l = createLabel(doc, labelInput('vip'), local(), { now: new Date('2024-02-01T00:00:00Z') })
    expect(l).toMatchObject({
      name: 'vip',
      groupId: 'default',
      schedule: { kind: 'once' },
      enabled: true,
      description: '',
      createdAt: '2024-02-01T00:00:00.000Z',
    })
    expect(projectWorkspace(doc).labels.map((x) => x.id)).toEqual([l.id])
    expectError(() => createLabel(doc, labelInput('vip'), local()), 'conflict', '/name')
  })

  it('validates static↔once and dynamic↔daily/weekly/monthly', () => {
    const doc = newWorkspaceDoc()
    expectError(
      () => createLabel(doc, labelInput('a', { schedule: { kind: 'daily', at: '01:00' } }), local()),
      'invalid',
      '/schedule/kind',
    )
    expectError(
      () => createLabel(doc, labelInput('b', { labelType: 'dynamic', schedule: { kind: 'once' } }), local()),
      'invalid',
      '/schedule/kind',
    )
    expect(createLabel(doc, labelInput('b2', { labelType: 'dynamic' }), local()).schedule).toEqual({
      kind: 'daily',
      at: '00:00',
    })
    expectError(() => createLabel(doc, labelInput('c', { groupId: 'nope' }), local()), 'invalid', '/groupId')
    expectError(() => createLabel(doc, labelInput('Bad Name'), local()), 'bad_request', '/name')
    const d = createLabel(
      doc,
      labelInput('d', { labelType: 'dynamic', schedule: { kind: 'weekly', weekday: 1, at: '08:00' } }),
      local(),
    )
    expect(updateLabel(doc, 'd', { labelType: 'static' }, local()).schedule).toEqual({ kind: 'once' })
    expectError(
      () => updateLabel(doc, d.id, { labelType: 'dynamic', schedule: { kind: 'once' } }, local()),
      'invalid',
      '/schedule/kind',
    )
    expect(updateLabel(doc, d.id, { labelType: 'dynamic' }, local()).schedule).toEqual({ kind: 'daily', at: '00:00' })
    expect(updateLabel(doc, d.id, { labelType: 'static' }, local()).schedule).toEqual({ kind: 'once' })
    expect(
      updateLabel(doc, d.id, { labelType: 'dynamic', schedule: { kind: 'monthly', day: 31, at: '00:00' } }, local())
        .labelType,
    ).toBe('dynamic')
  })

  it('updates only changed fields, by id or name, and renames only to a free name', () => {
    const doc = newWorkspaceDoc()
    const a = createLabel(doc, labelInput('a'), local(), { now: new Date('2024-01-01T00:00:00Z') })
    createLabel(doc, labelInput('b'), local())
    expectError(() => updateLabel(doc, a.id, { name: 'b' }, local()), 'conflict', '/name')
    const written: string[] = []
    labelsOf(doc).observeDeep((evs) => evs.forEach((e) => e.keys.forEach((_, k) => written.push(k))))
    updateLabel(doc, 'a', { displayName: 'Shiny', description: 'x' }, local())
    expect(written.sort()).toEqual(['description', 'displayName', 'updatedAt'])
    expect(updateLabel(doc, a.id, { name: 'a2' }, local()).name).toBe('a2')
    expectError(() => updateLabel(doc, 'a', { displayName: 'x' }, local()), 'not_found')
  })

  it('moves labels between groups and reorders them by index', () => {
    const doc = newWorkspaceDoc()
    const g = createGroup(doc, { name: 'G' }, local())
    const [x, y, z] = ['x', 'y', 'z'].map((n) => createLabel(doc, labelInput(n, { groupId: g.id }), local()))
    moveLabel(doc, z!.id, { groupId: g.id, index: 0 }, local())
    expect(projectWorkspace(doc).labels.map((l) => l.name)).toEqual(['z', 'x', 'y'])
    moveLabel(doc, x!.id, { groupId: DEFAULT_GROUP_ID }, local())
    expect(projectWorkspace(doc).labels.map((l) => [l.name, l.groupId])).toEqual([
      ['x', 'default'],
      ['z', g.id],
      ['y', g.id],
    ])
    expectError(() => moveLabel(doc, y!.id, { groupId: 'nope' }, local()), 'invalid', '/groupId')
    deleteLabel(doc, 'y', local())
    expect(projectWorkspace(doc).labels.map((l) => l.name)).toEqual(['x', 'z'])
    expectError(() => deleteLabel(doc, 'y', local()), 'not_found')
  })
})

describe('awareness state', () => {
  it('reads a peer state defensively: unknown roles read as viewer, junk targets as null', async () => {
    const { readAwarenessState } = await import('../../../shared/doc/index.ts')
    expect(
      readAwarenessState({
        user: { name: 'a', role: 'editor', color: '#123' },
        editing: { kind: 'label', id: 'l1' },
        dragging: { kind: 'group', id: 'g', overGroupId: 'h', index: 2 },
      }),
    ).toEqual({
      user: { name: 'a', role: 'editor', color: '#123' },
      editing: { kind: 'label', id: 'l1' },
      dragging: { kind: 'group', id: 'g', overGroupId: 'h', index: 2 },
    })
    expect(readAwarenessState({ user: { name: 'b', role: 'god' }, editing: { kind: 'x', id: 1 } })).toEqual({
      user: { name: 'b', role: 'viewer', color: '#888888' },
      editing: null,
      dragging: null,
    })
    expect(readAwarenessState({})).toBeNull()
    expect(readAwarenessState(null)).toBeNull()
  })
})
