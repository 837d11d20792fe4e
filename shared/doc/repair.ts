import type * as Y from 'yjs'
import { ensureDefaultGroup } from './default-group.ts'
import { draftsOf } from './drafts.ts'
import type { DocOrigin } from './origin.ts'
import { keyLists } from './rule-y.ts'
import { projectWorkspace, type Repair } from './projection.ts'
import { DEFAULT_GROUP_ID, DEFAULT_GROUP_NAME, entryOf, groupsOf, labelsOf } from './shape.ts'

const REPAIR_ORIGIN: DocOrigin = { kind: 'repair', actor: 'server' }

function apply(doc: Y.Doc, r: Repair): void {
  switch (r.kind) {
    case 'create-default-group':
      ensureDefaultGroup(doc, REPAIR_ORIGIN)
      return
    case 'reset-default-group': {
      const g = entryOf(groupsOf(doc), DEFAULT_GROUP_ID)
      if (g?.get('name') !== DEFAULT_GROUP_NAME) g?.set('name', DEFAULT_GROUP_NAME)
      if (g?.get('parentId') !== null) g?.set('parentId', null)
      return
    }
    case 'detach-group':
      entryOf(groupsOf(doc), r.groupId)?.set('parentId', null)
      return
    case 'rehome-label':
      entryOf(labelsOf(doc), r.labelId)?.set('groupId', DEFAULT_GROUP_ID)
      return
    case 'drop-entry':
      ;(r.map === 'groups' ? groupsOf(doc) : r.map === 'labels' ? labelsOf(doc) : draftsOf(doc)).delete(r.key)
      return
  }
}

/**
 * Server-side: writes back what the projection already shows (parents it ignored, labels whose
 * group is gone, a missing or altered Default group), in one transaction with origin 'repair'.
 * The displayed workspace doesn't change, and a second call finds nothing to do.
 * Returns the repairs applied.
 */
export function repairWorkspace(doc: Y.Doc, origin: DocOrigin = REPAIR_ORIGIN): Repair[] {
  const { repairs } = projectWorkspace(doc)
  if (repairs.length === 0) return repairs
  doc.transact(() => repairs.forEach((r) => apply(doc, r)), origin)
  return repairs
}

/**
 * Server-side, at load: gives the list elements of every draft that have no order key (a
 * document stored before lists had keys, rule-y.ts) their keys, in one transaction with origin
 * 'repair'. Nothing any replica shows changes; a second call writes nothing. True when it wrote.
 */
export function keyDraftLists(doc: Y.Doc, origin: DocOrigin = REPAIR_ORIGIN): boolean {
  let wrote = false
  doc.transact(() => {
    for (const d of draftsOf(doc).values()) wrote = keyLists(d) || wrote
  }, origin)
  return wrote
}
