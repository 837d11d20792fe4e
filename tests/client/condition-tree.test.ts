import { describe, expect, it } from 'vitest'
import {
  addChild,
  depthOf,
  kindOf,
  negate,
  parseConditionJson,
  removeChild,
  switchKind,
} from '../../client/features/labels/condition-tree.ts'
import { ruleLimits } from '../../shared/limits.ts'
import { Rule, type Condition } from '../../shared/schemas/rule.ts'
import { check } from '../../shared/schemas/validate.ts'

const schema = {
  userAttributes: [{ name: 'city', type: 'string' as const }],
  events: [{ name: 'purchase', properties: [{ name: 'amount', type: 'number' as const }] }],
}
const bought: Condition = { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 1 }
const inParis: Condition = { attribute: 'city', op: 'eq', value: 'Paris' }
const ruleOf = (when: Condition) => ({ method: 'custom', values: [{ value: 'x', when }] })

describe('condition builder tree', () => {
  it('switches a leaf into a group that holds it, all ↔ any keeps children, and back to a leaf of a kind it holds', () => {
    const all = switchKind(bought, 'all', schema)
    expect(all).toEqual({ all: [bought] })
    const any = switchKind(addChild(all, inParis), 'any', schema)
    expect(any).toEqual({ any: [bought, inParis] })
    expect(switchKind(any, 'attribute', schema)).toEqual(inParis)
    expect(switchKind(any, 'not', schema)).toEqual({ not: { all: [bought, inParis] } })
    expect(switchKind(bought, 'not', schema)).toEqual({ not: bought })
    expect(switchKind(bought, 'attribute', schema)).toEqual({ attribute: 'city', op: 'is_set' })
    expect(kindOf({ not: bought })).toBe('not')
  })

  it('adds, removes (never the last child) and negates nodes; the result is a rule the schema accepts', () => {
    let c = switchKind(bought, 'any', schema)
    c = addChild(c, { all: [inParis] })
    c = addChild(c, negate(bought))
    expect(c).toEqual({ any: [bought, { all: [inParis] }, { not: bought }] })
    expect(negate(negate(bought))).toEqual(bought)
    c = removeChild(c, 0)
    expect(c).toEqual({ any: [{ all: [inParis] }, { not: bought }] })
    expect(removeChild({ all: [bought] }, 0)).toEqual({ all: [bought] })
    expect(() => check(Rule, ruleOf(c))).not.toThrow()
    expect(depthOf(c)).toBe(3)
  })

  it('stops adding children at the limit', () => {
    let c: Condition = { all: [bought] }
    for (let i = 0; i < ruleLimits.conditionChildren + 5; i++) c = addChild(c, bought)
    expect((c as { all: Condition[] }).all).toHaveLength(ruleLimits.conditionChildren)
  })

  it('reads typed JSON, and says why what is typed is not a condition', () => {
    expect(parseConditionJson('{"not":{"event":"purchase","op":"gte","value":1}}')).toEqual({
      ok: true,
      value: { not: { event: 'purchase', op: 'gte', value: 1 } },
    })
    const bad = parseConditionJson('{"all": [')
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/^not valid JSON/)
    expect(parseConditionJson('[1]')).toMatchObject({ ok: false })
    expect(parseConditionJson('{"all":{}}')).toEqual({ ok: false, error: '"all" takes a list of conditions' })
    expect(parseConditionJson('{"event":"a","attribute":"b"}')).toMatchObject({
      ok: false,
      error: expect.stringContaining('event and attribute'),
    })
  })
})
