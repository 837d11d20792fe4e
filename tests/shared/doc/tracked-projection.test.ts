import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  createLabel,
  draftsOf,
  labelsOf,
  projectWorkspace,
  trackProjection,
  updateLabel,
  type WorkspaceProjection,
} from '../../../shared/doc/index.ts'
import { makeRng } from '../../../shared/prng.ts'
import { labelInput, local, newWorkspaceDoc, replicaOf } from './helpers.ts'
import { randomDraftEdit, randomEdit } from './random-edit.ts'

/**
 * trackProjection (issue 9, "Scale": the web app re-reads only what a transaction touched) must
 * always equal projectWorkspace. Two replicas edit at random (operations, raw writes that need
 * repairs, drafts), updates cross in random order; after every delivered update the tracked
 * projection of the receiving replica is compared with a full projection.
 */
function simulate(seed: number, steps: number, prevOf: (p: WorkspaceProjection) => WorkspaceProjection): number {
  const rng = makeRng(seed)
  const a = newWorkspaceDoc()
  const b = replicaOf(a)
  const inbox: Uint8Array[] = []
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'net' && inbox.push(u))
  const tracked = trackProjection(b)
  let prev = prevOf(tracked.project(projectWorkspace(b)))
  let compared = 0
  for (let n = 0; n < steps; n++) {
    const r = rng.next()
    if (r < 0.5) randomEdit(a, rng, 'alice', n)
    else if (r < 0.6) randomDraftEdit(a, rng, 'alice', n)
    else if (r < 0.7) randomEdit(b, rng, 'bob', n)
    else if (r < 0.75) a.transact(() => labelsOf(a).set(`junk${n}`, 'raw'), local('alice'))
    else if (r < 0.78) a.transact(() => draftsOf(a).set(`junk${n}`, 'raw'), local('alice'))
    else if (inbox.length) Y.applyUpdate(b, inbox.splice(rng.int(0, inbox.length - 1), 1)[0]!, 'net')
    const next = tracked.project(prev)
    expect(next).toEqual(projectWorkspace(b))
    compared++
    prev = prevOf(next)
  }
  tracked.stop()
  return compared
}

describe('trackProjection', () => {
  it('equals the full projection after every update (its own last result as prev)', () => {
    for (const seed of [1, 2, 3]) expect(simulate(seed, 300, (p) => p)).toBe(300)
  })

  it('equals the full projection when prev is an equal copy (as a Solid store holds it)', () => {
    for (const seed of [11, 12, 13]) simulate(seed, 300, (p) => structuredClone(p))
  })

  it('hands back untouched labels and groups as they were, and prev itself when nothing changed', () => {
    const doc = newWorkspaceDoc()
    for (let i = 0; i < 50; i++) createLabel(doc, labelInput(`l${i}`), local())
    const tracked = trackProjection(doc)
    const first = tracked.project(projectWorkspace(doc))
    expect(tracked.project(first)).toBe(first)
    updateLabel(doc, 'l7', { displayName: 'Seven' }, local())
    const next = tracked.project(first)
    expect(next).toEqual(projectWorkspace(doc))
    expect(next.groupsById).toBe(first.groupsById)
    const changed = next.labels.filter((l, i) => l !== first.labels[i]).map((l) => l.name)
    expect(changed).toEqual(['l7'])
    tracked.stop()
  })
})
