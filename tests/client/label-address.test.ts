import * as Y from 'yjs'
import { describe, expect, it } from 'vitest'
import { ensureDefaultGroup } from '../../shared/doc/default-group.ts'
import { createLabel, updateLabel } from '../../shared/doc/label-operations.ts'
import { projectWorkspace } from '../../shared/doc/projection.ts'
import { labelAddress, labelRefOf, resolveLabelRef } from '../../client/features/labels/label-address.ts'

const o = { kind: 'local' as const, actor: 'test' }

function workspace() {
  const doc = new Y.Doc()
  ensureDefaultGroup(doc)
  const label = (id: string, name: string) =>
    createLabel(
      doc,
      { name, displayName: name, dataType: 'string', labelType: 'static', rule: { method: 'import' } },
      o,
      { id },
    )
  // A name may look like an id (ids are lowercase too): this one is another label's id. Operations
  // refuse a name that is an existing label's id (409), so it was given before that label existed.
  label('l_other', 'l_vip')
  label('l_vip', 'vip_list')
  return doc
}

describe('label address #/labels/<id or name>', () => {
  it('reads the id or name from the hash, decoded, and nothing from other or malformed addresses', () => {
    expect(labelRefOf('#/labels/vip_list')).toBe('vip_list')
    expect(labelRefOf('#/labels/l_0a1b')).toBe('l_0a1b')
    expect(labelRefOf(labelAddress('a b/c'))).toBe('a b/c')
    expect(labelRefOf('')).toBeNull()
    expect(labelRefOf('#/labels/')).toBeNull()
    expect(labelRefOf('#/groups/x')).toBeNull()
    expect(labelRefOf('#/labels/%E0%A4%A')).toBeNull()
  })

  it('resolves an id, else a name, to the id; an id wins over a name that equals it', () => {
    const doc = workspace()
    const view = projectWorkspace(doc)
    expect(resolveLabelRef(view, 'vip_list')).toBe('l_vip')
    expect(resolveLabelRef(view, 'l_other')).toBe('l_other')
    expect(resolveLabelRef(view, 'l_vip')).toBe('l_vip')
    expect(resolveLabelRef(view, 'nothing')).toBeNull()
    updateLabel(doc, 'l_vip', { name: 'vips' }, o)
    expect(resolveLabelRef(projectWorkspace(doc), 'vip_list')).toBeNull()
    expect(resolveLabelRef(projectWorkspace(doc), 'vips')).toBe('l_vip')
    // Naming a label after another label's id now is refused: that name would address the other.
    expect(() => updateLabel(doc, 'l_vip', { name: 'l_other' }, o)).toThrow(/is the id of the label/)
  })
})
