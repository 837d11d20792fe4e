/**
 * The compiled reply filter (server/http/response-pick.ts) gives what TypeBox's Value.Clean gives on
 * a clone, for the product's reply schemas and random replies with undeclared fields, and copies
 * nothing that needs no change. (In strict mode every reply of the test suite is compared too:
 * server/http/schema-compilers.ts.)
 */
import { Type, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { describe, expect, it } from 'vitest'
import { compilePick } from '../../server/http/response-pick.ts'
import { makeRng } from '../../shared/prng.ts'
import { DistributionOut, ErrorBody, GroupOut, HistoryOut, LabelOut, RunOut } from '../../server/http/wire-schemas.ts'

/** A random value near the schema: declared fields mostly right, plus undeclared ones, wrong types now and then. */
function sample(schema: TSchema, r: () => number, depth = 0): unknown {
  const s = schema as Record<string, unknown>
  const junk = () => (r() < 0.5 ? { order: 3, rawGroupId: 'g' } : r() < 0.5 ? 'x' : null)
  if (r() < 0.05 || depth > 6) return junk()
  if (s.anyOf) {
    const branches = s.anyOf as TSchema[]
    return sample(branches[Math.floor(r() * branches.length)]!, r, depth + 1)
  }
  if (s.type === 'object' && s.properties) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>))
      if (r() < 0.9) out[k] = sample(v, r, depth + 1)
    if (r() < 0.5) out.rawGroupId = 'grp'
    if (r() < 0.3) out.order = 'a0'
    if (r() < 0.1) Object.defineProperty(out, '__proto__', { value: { evil: 1 }, enumerable: true })
    return out
  }
  if (s.type === 'array')
    return Array.from({ length: Math.floor(r() * 4) }, () => sample(s.items as TSchema, r, depth + 1))
  if (s.type === 'string') return r() < 0.9 ? `s${Math.floor(r() * 100)}` : 7
  if (s.type === 'number' || s.type === 'integer') return Math.floor(r() * 1000)
  if (s.type === 'boolean') return r() < 0.5
  if (s.type === 'null') return null
  // Unknown: a nested object with anything in it (passes whole).
  return { anything: [1, { order: 2 }], nested: { rawGroupId: 'kept' } }
}

const Mixed = Type.Object({
  kind: Type.Union([
    Type.Object({ a: Type.String(), b: Type.Optional(Type.Number()) }),
    Type.Object({ c: Type.Array(Type.Object({ d: Type.Boolean() })) }),
    Type.String(),
    Type.Literal('lit'),
  ]),
  open: Type.Object({ x: Type.Number() }, { additionalProperties: true }),
  typed: Type.Object({ x: Type.Number() }, { additionalProperties: Type.String() }),
})

const schemas: Record<string, TSchema> = {
  LabelOut,
  LabelList: Type.Object({ labels: Type.Array(LabelOut) }),
  GroupOut,
  RunOut,
  DistributionOut,
  HistoryOut,
  ErrorBody,
  Mixed,
}

describe('compiled reply filter', () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name}: equals Value.Clean on 500 random replies`, () => {
      const pick = compilePick(schema)
      expect(pick).not.toBeNull()
      const r = makeRng(name.length * 7919).next
      for (let i = 0; i < 500; i++) {
        const v = sample(schema, r)
        const before = JSON.stringify(v)
        const want = JSON.stringify(Value.Clean(schema, structuredClone(v)))
        expect(JSON.stringify(pick!(v))).toBe(want)
        expect(JSON.stringify(v)).toBe(before) // the reply itself is never changed
      }
    })
  }

  it('returns the reply itself when nothing is to drop, and copies only the objects that change', () => {
    const pick = compilePick(Type.Object({ labels: Type.Array(LabelOut) }))!
    const run = { id: 'r1', labelId: 'l', status: 'succeeded' }
    const label = { id: 'l', name: 'n', rule: { method: 'metric', order: 1 }, lastRun: null }
    const clean = { labels: [label] }
    expect(pick(clean)).toBe(clean)
    const dirty = { labels: [label, { ...label, rawGroupId: 'g' }] }
    const out = pick(dirty) as { labels: unknown[] }
    expect(out.labels[0]).toBe(label) // untouched: not copied
    expect(out.labels[1]).toEqual(label)
    const pickRun = compilePick(RunOut)!
    expect(pickRun(run)).toBe(run)
  })

  it('leaves a field named __proto__ a field (dropped, not a prototype)', () => {
    const pick = compilePick(Type.Object({ a: Type.Number() }))!
    const v = JSON.parse('{"a":1,"__proto__":{"polluted":true}}') as object
    const out = pick(v) as Record<string, unknown>
    expect(JSON.stringify(out)).toBe('{"a":1}')
    expect((out as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('keeps Value.Clean for schemas it does not compile (records, intersections)', () => {
    expect(compilePick(Type.Record(Type.String(), Type.Number()))).toBeNull()
    expect(compilePick(Type.Object({ r: Type.Intersect([Type.Object({ a: Type.Number() })]) }))).toBeNull()
  })
})
