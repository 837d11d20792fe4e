import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  checkRuleShape,
  createLabel,
  draftDefinition,
  editDraft,
  openDraft,
  projectDrafts,
  projectWorkspace,
  repairWorkspace,
} from '../../../shared/doc/index.ts'
import { LabelInput } from '../../../shared/schemas/label.ts'
import { check } from '../../../shared/schemas/validate.ts'
import { makeRng } from '../../../shared/prng.ts'
import type { CustomRule } from '../../../shared/schemas/rule.ts'
import { labelInput, local, newWorkspaceDoc, replicaOf } from './helpers.ts'
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

/**
 * Moves under concurrency (order keys, rule-y.ts): 3–5 replicas of one draft move its layers,
 * the conditions of a layer and the values of an `in` list, edit inside layers, insert and
 * remove layers, with updates delivered in random order. Each layer is known by its `value`
 * (never edited here). At the end every replica projects the same valid rule, every layer that
 * was not removed is there exactly once, every layer still holds its two conditions and its three
 * `in` values, and a layer whose threshold someone edited holds one of the written values (an
 * edit made while someone else moved the layer is not lost).
 */
type MoveStep =
  | { kind: 'move' | 'cond' | 'in' | 'inner' | 'insert' | 'remove'; replica: number; a: number; b: number }
  | { kind: 'deliver'; replica: number; pick: number }

const moveStep: fc.Arbitrary<MoveStep> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('move' as const, 'move' as const, 'cond' as const, 'in' as const, 'inner' as const),
      replica: fc.nat(4),
      a: fc.nat(9),
      b: fc.nat(9),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('insert' as const, 'remove' as const),
      replica: fc.nat(4),
      a: fc.nat(9),
      b: fc.nat(9),
    }),
  },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('deliver' as const), replica: fc.nat(4), pick: fc.nat() }) },
)

const layer = (value: string) => ({
  value,
  when: {
    all: [
      { event: 'purchase', op: 'gte' as const, value: 1 },
      { attribute: 'city', op: 'in' as const, value: ['p', 'q', 'r'] },
    ],
  },
})

function runMoves(replicas: number, steps: MoveStep[]): void {
  const server = newWorkspaceDoc()
  const start: CustomRule = { method: 'custom', values: ['L0', 'L1', 'L2', 'L3'].map(layer), otherwise: 'none' }
  createLabel(server, labelInput('tier', { dataType: 'string', rule: start }), local('server'), { id: 'l_tier' })
  const id = openDraft(server, { labelId: 'l_tier' }, local('server')).id
  const docs = [server, ...Array.from({ length: replicas - 1 }, () => replicaOf(server))]
  const inbox: Uint8Array[][] = docs.map(() => [])
  docs.forEach((d, i) =>
    d.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin !== 'net') docs.forEach((_, j) => j !== i && inbox[j]!.push(u))
    }),
  )
  const expected = new Set(['L0', 'L1', 'L2', 'L3'])
  const written = new Map<string, Set<number>>()
  steps.forEach((s, n) => {
    const i = s.replica % replicas
    const doc = docs[i]!
    if (s.kind === 'deliver') {
      const q = inbox[i]!
      if (q.length) Y.applyUpdate(doc, q.splice(s.pick % q.length, 1)[0]!, 'net')
      return
    }
    const layers = (draftDefinition(doc, id)!.rule as CustomRule).values
    const len = layers.length
    const o = local(`op${i}`)
    if (s.kind === 'insert') {
      expected.add(`N${n}`)
      return void editDraft(
        doc,
        id,
        [{ op: 'insert', path: '/rule/values', index: s.a % (len + 1), value: layer(`N${n}`) }],
        o,
      )
    }
    if (!len) return
    const k = s.a % len
    const at = layers[k]!
    const conds = (at.when as { all: { event?: string }[] }).all
    switch (s.kind) {
      case 'remove':
        expected.delete(String(at.value))
        return void editDraft(doc, id, [{ op: 'remove', path: '/rule/values', index: k }], o)
      case 'move':
        return void editDraft(doc, id, [{ op: 'move', path: '/rule/values', from: k, to: s.b % len }], o)
      case 'cond':
        return void editDraft(doc, id, [{ op: 'move', path: `/rule/values/${k}/when/all`, from: 0, to: 1 }], o)
      case 'in': {
        const c = conds.findIndex((x) => x.event === undefined)
        const path = `/rule/values/${k}/when/all/${c}/value`
        return void editDraft(doc, id, [{ op: 'move', path, from: s.b % 3, to: (s.b + 1 + (s.a % 2)) % 3 }], o)
      }
      case 'inner': {
        const c = conds.findIndex((x) => x.event === 'purchase')
        const v = 100 + n
        written.set(String(at.value), (written.get(String(at.value)) ?? new Set()).add(v))
        return void editDraft(doc, id, [{ op: 'set', path: `/rule/values/${k}/when/all/${c}/value`, value: v }], o)
      }
    }
  })
  for (const d of docs) for (const e of docs) if (d !== e) Y.applyUpdate(e, Y.encodeStateAsUpdate(d), 'net')
  const rule = draftDefinition(server, id)!.rule as CustomRule
  for (const d of docs) expect(draftDefinition(d, id)!.rule).toEqual(rule)
  checkRuleShape(rule)
  expect(rule.values.map((l) => l.value).sort()).toEqual([...expected].sort())
  for (const l of rule.values) {
    const conds = (l.when as { all: { event?: string; value: unknown }[] }).all
    expect(conds.map((c) => c.event ?? 'city').sort()).toEqual(['city', 'purchase'])
    expect([...(conds.find((c) => c.event === undefined)!.value as string[])].sort()).toEqual(['p', 'q', 'r'])
    const edits = written.get(String(l.value))
    if (edits) expect(edits).toContain(conds.find((c) => c.event === 'purchase')!.value)
  }
}

describe('model: concurrent moves and inner edits of draft lists on 3–5 replicas', () => {
  it('every replica projects the same valid rule, with no duplicated and no lost item or edit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 5 }),
        fc.array(moveStep, { minLength: 10, maxLength: 200 }),
        (replicas, steps) => void runMoves(replicas, steps),
      ),
      { numRuns: 150, seed: 20261130 },
    )
  })
})
