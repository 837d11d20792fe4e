import { expect, it } from 'vitest'
import * as Y from 'yjs'
import { keyInParent } from '../../../shared/doc/drafts.ts'

it('names the key a type sits under in its parent map, with public Yjs API (also on a replica, and after a replace)', () => {
  const doc = new Y.Doc()
  const root = doc.getMap('groups')
  const child = new Y.Map<unknown>()
  root.set('__proto__', child) // any key, Object.prototype members included
  const list = new Y.Array<Y.Map<unknown>>()
  root.set('list', list)
  const inList = new Y.Map<unknown>()
  list.push([inList])
  expect(keyInParent(child)).toBe('__proto__')
  expect(keyInParent(inList)).toBeNull() // an array element has no key
  expect(keyInParent(root)).toBeNull() // a root type has no parent
  expect(keyInParent(new Y.Map())).toBeNull() // not in a document yet

  const replica = new Y.Doc()
  Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc))
  expect(keyInParent(replica.getMap('groups').get('__proto__') as Y.Map<unknown>)).toBe('__proto__')

  const again = new Y.Map<unknown>()
  root.set('__proto__', again)
  expect(keyInParent(again)).toBe('__proto__')
})
