import * as Y from 'yjs'
import { draftsOf, typeIdOf } from './drafts.ts'

/**
 * Server-verified draft authorship (issue 8). A draft records who last wrote each key
 * (`~by:<key>`), who created each map (`~by`) and who opened it (`createdBy`), in the document,
 * where any client could write any operator's name: "bob overwrote your change" would then be
 * whatever a client claims. So the server attributes every draft write of a client's update to
 * the authenticated operator of the connection that sent it, inside the transaction that applies
 * the update (like creation-stamps.ts; the sender gets the corrected update back):
 *
 * - a key the update changed in an existing draft map: its author becomes the sender;
 * - an author key the update changed on its own (no change of the value it names), or a map's
 *   creator: the sender (whoever touches an author key is recorded as the author; nobody can
 *   put another operator's name there);
 * - maps and cells the update created inside a new draft: every author in them is the sender,
 *   or '' (nobody: the starting values of a draft have no author, so they are never reported
 *   as someone's change); a new draft's `createdBy` is the sender;
 * - maps and cells the update created inside an existing draft (a new layer, a replaced
 *   subtree): every author in them is the sender, and each one's creator `~by` is written when
 *   missing (a map without one would inherit the author of the list or key it sits in, i.e.
 *   someone else) or '' (nobody).
 *
 * REST writes go through shared/doc operations with the REST caller as actor already. Only
 * public Yjs API: `Transaction.changed`/`beforeState`, and a type's id from a relative position.
 */

const BY = '~by'
/** A draft's own keys that are nobody's edit (createdBy is checked separately). */
const BOOKKEEPING = new Set(['id', 'labelId', 'base', 'createdAt'])
/** A list element's order key (rule-y.ts): where an item sits is nobody's authored value. */
const ORDER = '~ord'
const isAuthorKey = (k: string): boolean => k === BY || k.startsWith(`${BY}:`)

/** True when `type` is the drafts root or inside it. */
function underDrafts(type: Y.AbstractType<unknown>, drafts: Y.AbstractType<unknown>): boolean {
  for (let t: Y.AbstractType<unknown> | null = type; t; t = t.parent as Y.AbstractType<unknown> | null)
    if (t === drafts) return true
  return false
}

/** Attributes the draft writes of the running transaction to `actor`; true when it wrote anything. */
export function attributeDraftWrites(tr: Y.Transaction, actor: string): boolean {
  const drafts = draftsOf(tr.doc) as unknown as Y.AbstractType<unknown>
  let wrote = false
  const put = (m: Y.Map<unknown>, key: string, value: string) => {
    if (m.get(key) === value) return
    m.set(key, value)
    wrote = true
  }
  // Created in this transaction: its id's clock is past the state before the transaction.
  const isNew = (t: Y.AbstractType<unknown>): boolean => {
    const id = typeIdOf(t)
    return !!id && id.clock >= (tr.beforeState.get(id.client) ?? 0)
  }
  // A subtree this update created: authors are the sender, or nobody inside a new draft.
  const claim = (v: unknown, nobodyOk: boolean): void => {
    if (v instanceof Y.Map) {
      const m = v as Y.Map<unknown>
      if (!nobodyOk && m.get(BY) !== actor) put(m, BY, actor)
      for (const k of [...m.keys()]) {
        if (!isAuthorKey(k)) claim(m.get(k), nobodyOk)
        else if ((!nobodyOk || m.get(k) !== '') && m.get(k) !== actor) put(m, k, actor)
      }
    } else if (v instanceof Y.Array) (v as Y.Array<unknown>).forEach((x) => claim(x, nobodyOk))
  }
  // Copies: the writes below add to tr.changed.
  for (const [type, keys] of [...tr.changed].map(([t, k]) => [t, new Set(k)] as const)) {
    if (!underDrafts(type as Y.AbstractType<unknown>, drafts)) continue
    if (type === drafts) {
      for (const id of keys) {
        const d = id === null ? undefined : (type as unknown as Y.Map<unknown>).get(id)
        if (!(d instanceof Y.Map) || !isNew(d as Y.AbstractType<unknown>)) continue
        claim(d, true)
        put(d as Y.Map<unknown>, 'createdBy', actor)
      }
    } else if (type instanceof Y.Map) {
      const m = type as Y.Map<unknown>
      for (const k of keys) {
        if (k === null || k === ORDER) continue
        if (!isAuthorKey(k)) {
          if (m.parent === drafts && BOOKKEEPING.has(k)) continue
          if (k !== 'createdBy') put(m, `${BY}:${k}`, actor)
          else if (m.has(k)) put(m, k, actor) // a draft's opener, rewritten: the sender's
          const v = m.get(k)
          if ((v instanceof Y.Map || v instanceof Y.Array) && isNew(v as Y.AbstractType<unknown>)) claim(v, false)
        } else if (k === BY || !keys.has(k.slice(BY.length + 1))) {
          put(m, k, actor) // an author key changed on its own
        }
      }
    } else if (type instanceof Y.Array) {
      ;(type as Y.Array<unknown>).forEach((v) => {
        if ((v instanceof Y.Map || v instanceof Y.Array) && isNew(v as Y.AbstractType<unknown>)) claim(v, false)
      })
    }
  }
  return wrote
}
