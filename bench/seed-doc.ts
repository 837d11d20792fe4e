/**
 * A workspace document of `labels` labels in `groups` groups, built directly (one transaction,
 * order keys minted once per list) rather than through shared/doc's operations: each operation
 * projects the whole document to check names and place the entry, so 5,000 creations cost
 * minutes. The entries have the fields and order keys createGroup / createLabel would write, and
 * the same names as bench/offline-reload.ts seedLabels (label_0000 … in group `l % groups`).
 *
 * The server loads it as its stored document (bench/app-server.ts `--seed`): its labels exist
 * from the start, so no creation run and no version is recorded for them (a bench of the web app
 * at scale, not of the run queue).
 */
import * as Y from 'yjs'
import {
  DEFAULT_GROUP_ID,
  ensureDefaultGroup,
  groupsOf,
  keysBetween,
  labelsOf,
  newId,
  putEntry,
} from '../shared/doc/index.ts'
import { defaultSchedule } from '../shared/schemas/label.ts'

/** The document's whole state as one update. */
export function seedDocUpdate(labels: number, groups: number, now = new Date()): Uint8Array {
  const doc = new Y.Doc()
  const at = now.toISOString()
  ensureDefaultGroup(doc, undefined, now)
  const defaultGroup = groupsOf(doc).get(DEFAULT_GROUP_ID) as Y.Map<unknown>
  doc.transact(() => {
    const groupKeys = keysBetween(defaultGroup.get('order') as string, null, groups)
    const groupIds = groupKeys.map((order, g) => {
      const id = newId('g')
      putEntry(groupsOf(doc), id, { id, name: `Group ${g}`, parentId: null, order, createdAt: at })
      return id
    })
    const perGroup = groupIds.map((_, g) => Math.floor(labels / groups) + (g < labels % groups ? 1 : 0))
    const labelKeys = perGroup.map((n) => keysBetween(null, null, n))
    for (let l = 0; l < labels; l++) {
      const g = l % groups
      const id = newId('l')
      const name = `label_${String(l).padStart(4, '0')}`
      putEntry(labelsOf(doc), id, {
        id,
        name,
        displayName: `Label ${l}`,
        groupId: groupIds[g],
        dataType: 'string',
        labelType: 'static',
        schedule: defaultSchedule('static'),
        enabled: true,
        description: `Benchmark label number ${l}, imported values.`,
        rule: { method: 'import' },
        createdAt: at,
        updatedAt: at,
        order: labelKeys[g]![Math.floor(l / groups)],
      })
    }
  })
  return Y.encodeStateAsUpdate(doc)
}
