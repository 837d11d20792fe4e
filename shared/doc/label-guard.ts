import type { TSchema } from 'typebox'
import { Type } from 'typebox'
import * as Y from 'yjs'
import { jsonProblem } from '../json-guard.ts'
import { LabelInput } from '../schemas/label.ts'
import { check } from '../schemas/validate.ts'
import { groupsOf, labelsOf } from './shape.ts'

/**
 * The server's check of label fields written over the collaboration socket. REST and the web app
 * write labels through shared/doc operations, which validate every field (docs/model.md#label-fields:
 * a name of `^[a-z][a-z0-9_]{0,63}$`, a display name of 1–100 characters, a rule of the shape
 * docs/rules.md gives); a client
 * writing the document directly skipped all of it, and the HTTP API then served a label named
 * `Bad Name!` with an empty display name (found by a black-box audit). Inside the transaction
 * that applies a client's update (like creation-stamps.ts and draft-authors.ts; the sender gets
 * the correction back, so every replica converges on it):
 *
 * - a field of an existing label set to a value its schema refuses, or deleted, gets its previous
 *   value back;
 * - a label the update created with such a field missing or refused is removed (there is no
 *   earlier value to keep).
 *
 * Checked: the fields the projection (projection.ts readLabel) serves as written — `name`,
 * `displayName`, `description`, the rule's shape, and `id` (the entry's key). The others are read
 * as a valid default whatever is stored, the same on every replica (a junk schedule as the label
 * type's default, an unknown group as Default, a data type or label type that isn't one as
 * `string` / `static`), so they need no check. What needs the data schema (an unknown event, a
 * data type that does not fit the rule) is the engine's to refuse: the label's runs fail naming
 * the path, as after a REST edit that raced a schema change.
 */

/** The fields checked of one kind of entry, with their schemas, and those it may lack. */
interface EntryFields {
  kind: 'label' | 'group'
  schemas: ReadonlyMap<string, TSchema>
  /** Fields an entry may lack (the projection reads them as empty). */
  optional: ReadonlySet<string>
}

const entryId = Type.String({ minLength: 1, maxLength: 64 })
/** A label's (LabelInput's schemas). */
const labelFields: EntryFields = {
  kind: 'label',
  schemas: new Map<string, TSchema>([
    ['id', entryId],
    ...(['name', 'displayName', 'description', 'rule'] as const).map(
      (k) => [k, LabelInput.properties[k] as TSchema] as const,
    ),
  ]),
  optional: new Set(['description']),
}
/**
 * A group's: its name as REST takes it (1–100 characters, not blank). The projection serves it as
 * written (an empty name, or the id when it isn't a string), so it is checked like a label's name;
 * the rest of a group (parent, order) is repaired by the projection, the same on every replica.
 */
const groupFields: EntryFields = {
  kind: 'group',
  schemas: new Map<string, TSchema>([['name', Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' })]]),
  optional: new Set(),
}

/** Why the entry `m` under `id` can't hold its field `key` (or null): its value's refusal, or an id not its key. */
function fieldRefusal(f: EntryFields, m: Y.Map<unknown>, id: string, key: string): string | null {
  return key === 'id' && m.get('id') !== id ? 'not the entry key' : refusal(f, key, m.get(key))
}

/** Why `value` can't be the field `key`, or null (a key the guard doesn't know: null). */
function refusal(f: EntryFields, key: string, value: unknown): string | null {
  const schema = f.schemas.get(key)
  if (!schema) return null
  if (value === undefined) return f.optional.has(key) ? null : 'missing'
  const problem = jsonProblem(value)
  if (problem) return `${problem.path || '/'}: ${problem.message}`
  try {
    check(schema, value, `/${key}`)
    return null
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

/** A refused write and what the guard did about it (for the server's log). */
export interface GuardedWrite {
  kind: 'label' | 'group'
  id: string
  field: string | null
  reason: string
  action: 'restored' | 'removed'
}

/**
 * Checks the label and group fields the running transaction wrote (a client's update, applied);
 * restores or removes what is refused (above). Returns what it refused: empty when the update was
 * valid.
 */
export function guardEntryWrites(tr: Y.Transaction): GuardedWrite[] {
  return [...guardEntries(tr, labelsOf(tr.doc), labelFields), ...guardEntries(tr, groupsOf(tr.doc), groupFields)]
}

/** guardEntryWrites over one root map (labels or groups) and its entries' fields. */
function guardEntries(tr: Y.Transaction, root: Y.Map<unknown>, f: EntryFields): GuardedWrite[] {
  const out: GuardedWrite[] = []
  // Copied first: the writes below add to tr.changed.
  for (const [type, keys] of [...tr.changed].map(([t, k]) => [t, new Set(k)] as const)) {
    if (type === (root as unknown)) {
      const event = new Y.YMapEvent(root, tr, keys)
      for (const [id, change] of event.keys) {
        const entry = root.get(id)
        // Added, or replaced whole (a new map under an existing id): checked whole.
        if (change.action === 'delete' || !(entry instanceof Y.Map)) continue
        const m = entry as Y.Map<unknown>
        for (const field of f.schemas.keys()) {
          const reason = fieldRefusal(f, m, id, field)
          if (!reason) continue
          root.delete(id)
          out.push({ kind: f.kind, id, field, reason, action: 'removed' })
          break
        }
      }
      continue
    }
    if (!(type instanceof Y.Map) || type.parent !== (root as unknown)) continue
    const m = type as Y.Map<unknown>
    // Its key in the root (a map the same update created is not in tr.changed: checked above).
    const id = [...root.entries()].find(([, v]) => v === m)?.[0]
    if (id === undefined) continue // removed meanwhile
    const event = new Y.YMapEvent(m, tr, keys)
    for (const [field, change] of event.keys) {
      const reason = fieldRefusal(f, m, id, field)
      if (!reason) continue
      if (change.oldValue === undefined || refusal(f, field, change.oldValue)) continue // nothing valid to restore
      m.set(field, change.oldValue)
      out.push({ kind: f.kind, id, field, reason, action: 'restored' })
    }
  }
  return out
}
