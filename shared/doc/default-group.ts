import type * as Y from 'yjs'
import { keyBetween } from './fractional-index.ts'
import type { DocOrigin } from './origin.ts'
import { DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, DOC_VERSION, entryOf, groupsOf, metaOf, putEntry } from './shape.ts'

/**
 * Creates the Default group (fixed id) and meta.version if missing. Only the server calls it,
 * when it loads a document, so two clients never race to create it. No-op (no update) when
 * the document already has both.
 */
export function ensureDefaultGroup(
  doc: Y.Doc,
  origin: DocOrigin = { kind: 'server', actor: 'server' },
  now = new Date(),
): boolean {
  const hasGroup = entryOf(groupsOf(doc), DEFAULT_GROUP_ID) !== undefined
  const hasVersion = typeof metaOf(doc).get('version') === 'number'
  if (hasGroup && hasVersion) return false
  doc.transact(() => {
    if (!hasVersion) metaOf(doc).set('version', DOC_VERSION)
    if (!hasGroup) {
      putEntry(groupsOf(doc), DEFAULT_GROUP_ID, {
        id: DEFAULT_GROUP_ID,
        name: DEFAULT_GROUP_NAME,
        parentId: null,
        // Sorts before anything appended later ('V' is the first key keyBetween mints).
        order: keyBetween(null, 'V'),
        createdAt: now.toISOString(),
      })
    }
  }, origin)
  return true
}
