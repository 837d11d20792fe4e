import * as Y from 'yjs'
import { DEFAULT_GROUP_ID } from '../schemas/group.ts'

/**
 * The workspace document (ARCHITECTURE.md "Yjs document shape"):
 *   groups : Y.Map<groupId, Y.Map<GroupField>>
 *   labels : Y.Map<labelId, Y.Map<LabelField>>
 *   meta   : Y.Map { version }
 *   drafts : Y.Map<draftId, Y.Map>  shared drafts of label definitions (drafts.ts)
 * Each group/label is its own Y.Map so concurrent edits of different fields of one entry merge
 * field by field (last writer wins per field). `schedule` and `rule` are plain JSON values:
 * replaced whole, never merged, so a rule is never a mix of two operators' edits.
 */
export const DOC_VERSION = 1
export { DEFAULT_GROUP_ID }
export const DEFAULT_GROUP_NAME = 'Default'

export type GroupField = 'id' | 'name' | 'parentId' | 'order' | 'createdAt'
export type LabelField =
  | 'id'
  | 'name'
  | 'displayName'
  | 'groupId'
  | 'order'
  | 'dataType'
  | 'labelType'
  | 'schedule'
  | 'enabled'
  | 'description'
  | 'rule'
  | 'createdAt'
  | 'updatedAt'

/** The top-level maps; any other root type in a client update is refused by the server. */
export const ROOT_TYPES = ['groups', 'labels', 'meta', 'drafts'] as const

export type EntryMap = Y.Map<unknown>

export const groupsOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('groups')
export const labelsOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('labels')
export const metaOf = (doc: Y.Doc): Y.Map<unknown> => doc.getMap('meta')

/** The entry's Y.Map, or undefined when the key is missing or holds a non-map (raw junk). */
export function entryOf(map: Y.Map<unknown>, id: string): EntryMap | undefined {
  const v = map.get(id)
  return v instanceof Y.Map ? (v as EntryMap) : undefined
}

/** Writes a new entry map with its fields (inside the caller's transaction). */
export function putEntry(map: Y.Map<unknown>, id: string, fields: Record<string, unknown>): EntryMap {
  const entry = new Y.Map<unknown>()
  for (const [k, v] of Object.entries(fields)) entry.set(k, v)
  map.set(id, entry)
  return entry
}

/** Random ids that also work in an insecure (plain-http) browser context, unlike randomUUID. */
export function newId(prefix: 'g' | 'l' | 'd'): string {
  const bytes = new Uint8Array(10)
  globalThis.crypto.getRandomValues(bytes)
  return prefix + '_' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
