import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { projectWorkspace, repairWorkspace } from '../../../shared/doc/index.ts'
import { makeRng } from '../../../shared/prng.ts'
import { newWorkspaceDoc, replicaOf } from './helpers.ts'
import { randomEdit } from './random-edit.ts'
import { comparable, expectInvariants } from './invariants.ts'

/**
 * yjs-style convergence test: replicas edit concurrently; updates travel through per-link
 * queues delivered in random order, sometimes twice; replicas go offline and come back with a
 * state-vector resync. One replica plays the server and repairs. At the end every replica
 * must show the same valid workspace.
 */
function simulate(seed: number, replicas: number, steps: number): void {
  const rng = makeRng(seed)
  const server = newWorkspaceDoc()
  const docs = [server, ...Array.from({ length: replicas - 1 }, () => replicaOf(server))]
  const inbox: Uint8Array[][] = docs.map(() => [])
  const online = docs.map(() => true)
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin === 'net') return
      docs.forEach((_, j) => j !== i && inbox[j]!.push(u))
    }),
  )
  const deliver = (j: number) => {
    const q = inbox[j]!
    if (!online[j] || q.length === 0) return
    const u = q.splice(rng.int(0, q.length - 1), 1)[0]!
    Y.applyUpdate(docs[j]!, u, 'net')
    if (rng.bool(0.05)) Y.applyUpdate(docs[j]!, u, 'net') // duplicated delivery
    if (rng.bool(0.05)) q.push(u) // and again, later
  }
  for (let n = 0; n < steps; n++) {
    const i = rng.int(0, docs.length - 1)
    const r = rng.next()
    if (r < 0.45) randomEdit(docs[i]!, rng, `op${i}`, n)
    else if (r < 0.9) deliver(i)
    else if (r < 0.95) online[i] = !online[i]
    else if (online[0]) repairWorkspace(server)
  }
  online.fill(true)
  for (const d of docs) for (const e of docs) if (d !== e) Y.applyUpdate(e, Y.encodeStateAsUpdate(d), 'net')
  repairWorkspace(server)
  for (const d of docs) Y.applyUpdate(d, Y.encodeStateAsUpdate(server), 'net')
  const final = projectWorkspace(server)
  expect(Object.keys(final.groupsById).length).toBeGreaterThan(3) // the run did real work
  expect(final.labels.length).toBeGreaterThan(3)
  const expected = comparable(final)
  for (const d of docs) {
    expectInvariants(d)
    expect(comparable(projectWorkspace(d))).toEqual(expected)
    expect(projectWorkspace(d).repairs).toEqual([])
  }
}

describe('convergence under random concurrent edits', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: ${3 + (seed % 3)} replicas, 3000 steps, random order, duplicates, disconnects → same valid workspace`, () => {
      simulate(seed, 3 + (seed % 3), 3000)
    })
  }

  it('every intermediate state projects to a valid workspace', () => {
    const rng = makeRng(99)
    const a = newWorkspaceDoc(),
      b = replicaOf(a)
    for (let n = 0; n < 400; n++) {
      randomEdit(rng.bool() ? a : b, rng, 'x', n)
      if (rng.bool(0.3)) Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
      if (rng.bool(0.3)) Y.applyUpdate(a, Y.encodeStateAsUpdate(b))
      expectInvariants(a)
      expectInvariants(b)
    }
  })
})
