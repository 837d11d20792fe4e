import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { projectDrafts, projectWorkspace, repairWorkspace } from '../../../shared/doc/index.ts'
import { LabelInput } from '../../../shared/schemas/label.ts'
import { check } from '../../../shared/schemas/validate.ts'
import { makeRng } from '../../../shared/prng.ts'
import { newWorkspaceDoc, replicaOf } from './helpers.ts'
import { comparable, expectInvariants } from './invariants.ts'
import { randomDraftEdit, randomEdit } from './random-edit.ts'

/**
 * Model test of the document operations, drafts included: fast-check picks the replica count
 * and a sequence of steps (edit on replica i, deliver one queued update to replica j in a random
 * order, toggle a replica offline, server repair); after everyone has everything, every replica
 * must project the same valid tree and the same drafts, and every published label must be a
 * valid definition.
 */
type Step =
  | { kind: 'edit'; replica: number; seed: number; drafts: boolean }
  | { kind: 'deliver'; replica: number; pick: number }
  | { kind: 'toggle'; replica: number }
  | { kind: 'repair' }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      replica: fc.nat(4),
      seed: fc.nat(),
      drafts: fc.boolean(),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica: fc.nat(4), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('toggle' as const), replica: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'repair' as const }) },
)

function run(replicas: number, steps: Step[]): { drafts: number; labels: number; edited: number } {
  const server = newWorkspaceDoc()
  const docs = [server, ...Array.from({ length: replicas - 1 }, () => replicaOf(server))]
  const inbox: Uint8Array[][] = docs.map(() => [])
  const online = docs.map(() => true)
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin !== 'net') docs.forEach((_, j) => j !== i && inbox[j]!.push(u))
    }),
  )
  steps.forEach((s, n) => {
    if (s.kind === 'repair') return void repairWorkspace(server)
    const i = s.replica % replicas
    const doc = docs[i]!
    if (s.kind === 'toggle') online[i] = !online[i]
    else if (s.kind === 'edit') {
      const rng = makeRng(s.seed)
      if (s.drafts) randomDraftEdit(doc, rng, `op${i}`, n)
      else randomEdit(doc, rng, `op${i}`, n)
    } else if (online[i] && inbox[i]!.length) {
      const q = inbox[i]!
      Y.applyUpdate(doc, q.splice(s.pick % q.length, 1)[0]!, 'net')
    }
  })
  for (const d of docs) for (const e of docs) if (d !== e) Y.applyUpdate(e, Y.encodeStateAsUpdate(d), 'net')
  repairWorkspace(server)
  for (const d of docs) Y.applyUpdate(d, Y.encodeStateAsUpdate(server), 'net')
  const tree = comparable(projectWorkspace(server))
  const drafts = projectDrafts(server)
  for (const d of docs) {
    expectInvariants(d)
    expect(comparable(projectWorkspace(d))).toEqual(tree)
    expect(projectDrafts(d)).toEqual(drafts)
    for (const l of projectWorkspace(d).labels) {
      const { name, displayName, groupId, dataType, labelType, schedule, enabled, description, rule } = l
      check(LabelInput, { name, displayName, groupId, dataType, labelType, schedule, enabled, description, rule })
    }
  }
  const edited = drafts.drafts.filter((d) => d.editors.length > 1 || d.changed.length > 0).length
  return { drafts: drafts.drafts.length, labels: projectWorkspace(server).labels.length, edited }
}

describe('model: random operations with drafts on 3–5 replicas', () => {
  it('every replica projects the same valid tree and the same drafts, whatever the delivery order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.array(step, { minLength: 20, maxLength: 300 }),
        (replicas, steps) => void run(replicas, steps),
      ),
      { numRuns: 120, seed: 20261130 },
    )
  })

  it('a long seeded run does real work with drafts', () => {
    const rng = makeRng(7)
    const steps: Step[] = Array.from({ length: 3000 }, () => {
      const r = rng.next()
      if (r < 0.5) return { kind: 'edit', replica: rng.int(0, 4), seed: rng.int(0, 1e9), drafts: rng.bool(0.6) }
      if (r < 0.95) return { kind: 'deliver', replica: rng.int(0, 4), pick: rng.int(0, 1e6) }
      return rng.bool() ? { kind: 'toggle', replica: rng.int(0, 4) } : { kind: 'repair' }
    })
    const out = run(5, steps)
    expect(out.drafts).toBeGreaterThan(3)
    expect(out.edited).toBeGreaterThan(1)
    expect(out.labels).toBeGreaterThan(3)
  })
})
