import { expect, it } from 'vitest'
import * as Y from 'yjs'
import * as ops from '../../shared/doc/index.ts'
import { DocWorkspace } from '../../server/workspace/doc-workspace.ts'

const input = (name: string) => ({
  name,
  displayName: name,
  dataType: 'number' as const,
  labelType: 'static' as const,
  rule: { method: 'import' as const },
})

it('reads the document as it is now, whoever changed it, while sharing one projection between edits', () => {
  const doc = new Y.Doc()
  ops.ensureDefaultGroup(doc)
  const ws = new DocWorkspace(doc)
  expect(ws.listLabels()).toEqual([])
  expect(ws.listLabels()).toBe(ws.listLabels()) // cached between edits

  // A write that bypasses the workspace (a browser's update, a raw op) is seen at once…
  ops.createLabel(doc, input('a'), ops.origin('local', 'x'))
  expect(ws.findLabel('a')?.name).toBe('a')
  // …and by listeners that run after the transaction, as the change hooks do.
  const seen: string[] = []
  doc.on('afterTransaction', () => {
    seen.push(
      ws
        .listLabels()
        .map((l) => l.name)
        .join(','),
    )
  })
  ops.createLabel(doc, input('b'), ops.origin('local', 'x'))
  expect(seen.at(-1)).toBe('a,b')

  // An update applied from another replica invalidates it too.
  const other = new Y.Doc()
  Y.applyUpdate(other, Y.encodeStateAsUpdate(doc))
  ops.deleteLabel(other, 'a', ops.origin('local', 'y'))
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(other))
  expect(ws.listLabels().map((l) => l.name)).toEqual(['b'])
})
