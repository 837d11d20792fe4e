import * as Y from 'yjs'

/** A decoded update (`Y.decodeUpdate`). */
export type DecodedUpdate = ReturnType<typeof Y.decodeUpdate>

/** client id → next expected clock (what `Y.decodeStateVector` returns). */
export type StateVector = Map<number, number>

/** Why an update can't be integrated into a document with a given state vector. */
export interface MissingDependency {
  /** 'gap': the sender skipped clocks of one client; 'ref': an item refers to an unknown item; 'delete': it deletes unknown items; 'bad-ref': an item refers to a later item of its own client (never valid). */
  reason: 'gap' | 'ref' | 'delete' | 'bad-ref'
  client: number
  clock: number
}

/** The document's state vector, through public API. */
export const stateVectorOf = (doc: Y.Doc): StateVector => Y.decodeStateVector(Y.encodeStateVector(doc))

/**
 * Can every struct and every deletion of an update be integrated into a document whose state
 * vector is `known` (or into the document `known` itself)? Returns null when it can, else the
 * first dependency that is missing. Given a document, it reads only the clocks of the clients
 * the update names (`Y.getState`): a document's full state vector grows with every client that
 * ever wrote to it, and encoding it for every keystroke the server relays was most of the
 * relay's CPU time in a long-lived workspace.
 *
 * Public Yjs API only (`Y.decodeUpdate`'s structs and delete set, state vectors), mirroring how
 * `Y.applyUpdate` integrates: a client's structs must continue its clock without a gap (a
 * `Skip` is a gap), an item's `origin`, `rightOrigin` and parent item must already be known or
 * be integrated earlier from the same update (another client's structs may provide them, in
 * any order), and a deleted range must be known once the structs are in. What fails this check
 * is what Yjs would keep aside as "pending" structs or deletions: the server refuses such an
 * update instead of applying it (issue 12: pending structs were stored in every snapshot and
 * sent to every new client).
 */
export function missingDependency(update: DecodedUpdate, known: StateVector | Y.Doc): MissingDependency | null {
  const base =
    known instanceof Y.Doc
      ? (client: number) => Y.getState(known.store, client)
      : (client: number) => known.get(client) ?? 0
  /** Clocks this update's structs advance (the rest read from `known`). */
  const state = new Map<number, number>()
  const at = (client: number) => state.get(client) ?? base(client)
  const queues = new Map<number, Array<Y.Item | Y.GC>>()
  for (const s of update.structs) {
    if (s instanceof Y.Skip) return { reason: 'gap', client: s.id.client, clock: s.id.clock }
    const q = queues.get(s.id.client)
    if (q) q.push(s as Y.Item | Y.GC)
    else queues.set(s.id.client, [s as Y.Item | Y.GC])
  }
  const next = new Map<number, number>()
  for (const [client, q] of queues) {
    q.sort((a, b) => a.id.clock - b.id.clock)
    next.set(client, 0)
  }
  /** The first reference of an item that isn't integrated yet (null: all are). */
  const blocking = (s: Y.Item | Y.GC): MissingDependency | null => {
    if (!(s instanceof Y.Item)) return null
    const refs = [s.origin, s.rightOrigin, s.parent instanceof Y.ID ? s.parent : null]
    for (const r of refs) {
      if (!r) continue
      if (r.client === s.id.client) {
        // Yjs doesn't wait for its own client's items: they precede it. A later one is junk.
        if (r.clock >= s.id.clock) return { reason: 'bad-ref', client: r.client, clock: r.clock }
        continue
      }
      if (r.clock >= at(r.client)) return { reason: 'ref', client: r.client, clock: r.clock }
    }
    return null
  }
  let progress = true
  while (progress) {
    progress = false
    for (const [client, q] of queues) {
      let i = next.get(client) ?? 0
      while (i < q.length) {
        const s = q[i]!
        const end = s.id.clock + s.length
        if (end <= at(client)) {
          i++
          continue
        } // already known
        if (s.id.clock > at(client)) return { reason: 'gap', client, clock: at(client) }
        const dep = blocking(s)
        if (dep?.reason === 'bad-ref') return dep
        if (dep) break // another client's structs may still provide it
        state.set(client, end)
        i++
        progress = true
      }
      next.set(client, i)
    }
  }
  for (const [client, q] of queues) {
    const i = next.get(client) ?? 0
    if (i < q.length) return blocking(q[i]!) ?? { reason: 'ref', client, clock: q[i]!.id.clock }
  }
  for (const [client, ranges] of update.ds.clients) {
    for (const r of ranges) if (r.clock + r.len > at(client)) return { reason: 'delete', client, clock: r.clock }
  }
  return null
}

/**
 * Does the document hold anything Yjs kept aside because it couldn't be integrated (pending
 * structs or deletions)? `Y.encodeStateAsUpdate` includes those, so they show up as structs or
 * deletions beyond the document's own state vector. Public API only; costs one full encode.
 */
export function holdsPending(doc: Y.Doc): boolean {
  const sv = stateVectorOf(doc)
  const d = Y.decodeUpdate(Y.encodeStateAsUpdate(doc))
  for (const s of d.structs) if (s instanceof Y.Skip || s.id.clock + s.length > (sv.get(s.id.client) ?? 0)) return true
  for (const [client, ranges] of d.ds.clients)
    for (const r of ranges) if (r.clock + r.len > (sv.get(client) ?? 0)) return true
  return false
}
