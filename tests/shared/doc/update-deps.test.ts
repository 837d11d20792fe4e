import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { holdsPending, missingDependency, stateVectorOf } from '../../../shared/doc/update-deps.ts'
import { makeRng } from '../../../shared/prng.ts'

/** Three replicas editing a map, a list and a text, exchanging some updates; every update is recorded. */
function history(seed: number) {
  const rng = makeRng(seed)
  const docs = [1, 2, 3].map((id) => {
    const d = new Y.Doc()
    d.clientID = id
    return d
  })
  const updates: Uint8Array[] = []
  docs.forEach((d) => d.on('update', (u: Uint8Array, origin: unknown) => origin !== 'peer' && updates.push(u)))
  for (let step = 0; step < 60; step++) {
    const d = rng.pick(docs)
    const op = rng.int(0, 4)
    if (op === 0) d.getMap('m').set(`k${rng.int(0, 5)}`, step)
    else if (op === 1) d.getArray('a').insert(rng.int(0, d.getArray('a').length), [step])
    else if (op === 2 && d.getArray('a').length > 0) d.getArray('a').delete(rng.int(0, d.getArray('a').length - 1), 1)
    else if (op === 3) d.getText('t').insert(rng.int(0, d.getText('t').length), 'ab')
    else {
      // exchange: one replica learns everything another has
      const other = rng.pick(docs)
      if (other !== d) Y.applyUpdate(d, Y.encodeStateAsUpdate(other, Y.encodeStateVector(d)), 'peer')
    }
  }
  return { rng, updates }
}

describe('missingDependency agrees with what Yjs integrates', () => {
  it('a fresh document: a random subset of updates, merged, is complete exactly when Yjs keeps nothing pending', () => {
    let complete = 0,
      incomplete = 0
    for (let seed = 1; seed <= 40; seed++) {
      const { rng, updates } = history(seed)
      for (let trial = 0; trial < 10; trial++) {
        // A prefix of the history is complete; one update left out of it may or may not matter.
        const subset = updates.slice(0, rng.int(1, updates.length))
        if (rng.bool(0.5) && subset.length > 1) subset.splice(rng.int(0, subset.length - 2), 1)
        const merged = Y.mergeUpdates(subset)
        const doc = new Y.Doc()
        const verdict = missingDependency(Y.decodeUpdate(merged), stateVectorOf(doc))
        Y.applyUpdate(doc, merged)
        expect(verdict === null).toBe(!holdsPending(doc))
        if (verdict === null) complete++
        else incomplete++
      }
    }
    // Both outcomes were exercised.
    expect(complete).toBeGreaterThan(20)
    expect(incomplete).toBeGreaterThan(20)
  })

  it('against a document that already holds some updates, in any order', () => {
    for (let seed = 100; seed < 140; seed++) {
      const { rng, updates } = history(seed)
      const doc = new Y.Doc()
      const held = updates.filter(() => rng.bool(0.5))
      for (const u of held) {
        // Apply only what integrates, as the server does.
        if (!missingDependency(Y.decodeUpdate(u), doc)) Y.applyUpdate(doc, u)
      }
      expect(holdsPending(doc)).toBe(false)
      const next = rng.pick(updates)
      const verdict = missingDependency(Y.decodeUpdate(next), stateVectorOf(doc))
      // Given the document itself (what the server passes: only the named clients' clocks are read), the same verdict.
      expect(missingDependency(Y.decodeUpdate(next), doc)).toEqual(verdict)
      Y.applyUpdate(doc, next)
      expect(verdict === null).toBe(!holdsPending(doc))
    }
  })

  it('names what is missing: a gap, a reference, a deletion', () => {
    const a = new Y.Doc()
    a.clientID = 10
    const ups: Uint8Array[] = []
    a.on('update', (u: Uint8Array) => ups.push(u))
    a.getArray('x').insert(0, [1])
    a.getArray('x').insert(1, [2])
    a.getArray('x').delete(0, 1)
    const empty = new Map<number, number>()
    expect(missingDependency(Y.decodeUpdate(ups[1]!), empty)).toMatchObject({ reason: 'gap', client: 10 })
    expect(missingDependency(Y.decodeUpdate(ups[2]!), empty)).toMatchObject({ reason: 'delete', client: 10 })
    const b = new Y.Doc()
    b.clientID = 20
    Y.applyUpdate(b, ups[0]!)
    const bUps: Uint8Array[] = []
    b.on('update', (u: Uint8Array) => bUps.push(u))
    b.getArray('x').insert(1, ["after a's item"])
    expect(missingDependency(Y.decodeUpdate(bUps[0]!), empty)).toMatchObject({ reason: 'ref', client: 10, clock: 0 })
    // The same reference is satisfied by the update it depends on, merged in either order.
    expect(missingDependency(Y.decodeUpdate(Y.mergeUpdates([bUps[0]!, ups[0]!])), empty)).toBeNull()
  })
})
