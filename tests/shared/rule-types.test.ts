import { describe, expect, it } from 'vitest'
import {
  Condition,
  Rule,
  type BehaviourCondition,
  type CustomRule,
  type Rule as RuleT,
} from '../../shared/schemas/rule.ts'
import { check } from '../../shared/schemas/validate.ts'

/**
 * The rule's TypeScript types are derived from its TypeBox schemas (Static<>), not written beside
 * them. The `@ts-expect-error` lines are checked by `npm run typecheck` (CI runs it): a type that
 * drifted from the schema — or collapsed to `unknown` — makes them unused, and tsc fails. At run
 * time each value is checked against the schema, so the type and the validator agree both ways.
 */
describe('rule types follow the rule schema', () => {
  it('accepts at compile time exactly what the validator accepts', () => {
    const ok: RuleT[] = [
      { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' }, window: { lastDays: 30 } },
      {
        method: 'custom',
        values: [{ value: 'vip', when: { all: [{ not: { event: 'refund', op: 'gt', value: 0 } }] } }],
        otherwise: 'other',
      },
      { method: 'distribution', event: 'visit', measure: { agg: 'count' }, boundaries: [1, 5] },
      { method: 'import' },
    ]
    for (const r of ok) expect(() => check(Rule, r)).not.toThrow()

    // @ts-expect-error a sum needs its property
    const noProperty: RuleT = { method: 'metric', event: 'purchase', measure: { agg: 'sum' } }
    // @ts-expect-error an unknown comparison operator
    const badOp: BehaviourCondition = { event: 'visit', op: 'about', value: 1 }
    const when = { any: [{ event: 'e', op: 'gt' as const, value: 'x' }] }
    // @ts-expect-error a nested condition's value is a number or a range, not a string
    const deep: CustomRule = { method: 'custom', values: [{ value: 1, when }] }
    // @ts-expect-error no such condition shape
    const bogus: Condition = { bogus: true }
    for (const bad of [noProperty, deep]) expect(() => check(Rule, bad)).toThrow()
    for (const bad of [badOp, bogus]) expect(() => check(Condition, bad)).toThrow()
    expect(() => check(Condition, { event: 'visit', op: 'between', value: [1, 2] })).not.toThrow()
  })
})
