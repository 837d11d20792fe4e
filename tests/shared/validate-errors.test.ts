import { describe, expect, it } from 'vitest'
import { LabelsError } from '../../shared/errors.ts'
import { LabelInput } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { check } from '../../shared/schemas/validate.ts'

/** The path and message a value's refusal names. */
function refusal(schema: Parameters<typeof check>[0], value: unknown): { path: string; message: string } {
  try {
    check(schema, value, '/body')
  } catch (e) {
    if (!(e instanceof LabelsError)) throw e
    return { path: e.path ?? '', message: e.message }
  }
  throw new Error('accepted')
}

/**
 * A rule, a schedule and a measure are unions told apart by one literal field (`method`, `kind`,
 * `agg`). TypeBox lists the errors of every branch, the first ones first, and stops at a few: a
 * bad field of the branch the value names was reported as the other branches' `method`.
 */
describe('the error a refused value names', () => {
  const preference = { method: 'preference', event: 'purchase', property: 'category' }

  it("is the field of the branch the value's literal names, not that literal", () => {
    expect(refusal(Rule, { ...preference, top: 0 })).toEqual({ path: '/body/top', message: '/body/top: must be >= 1' })
    expect(refusal(Rule, { ...preference, top: 51 }).path).toBe('/body/top')
    expect(
      refusal(Rule, { method: 'distribution', event: 'e', measure: { agg: 'count' }, boundaries: [1, 2], names: ['a'] })
        .path,
    ).toBe('/body/names')
    // A measure is a union too (by `agg`), inside a rule and inside a condition.
    expect(refusal(Rule, { method: 'metric', event: 'e', measure: { agg: 'sum' } })).toMatchObject({
      path: '/body/measure',
      message: expect.stringMatching(/required properties property/),
    })
    const when = { event: 'e', op: 'gte', value: 1, measure: { agg: 'avg' } }
    expect(refusal(Rule, { method: 'custom', values: [{ value: 'x', when }] }).path).toBe('/body/values/0/when/measure')
  })

  it('names the literals a field takes when the value matches none', () => {
    expect(refusal(Rule, { method: 'foo' })).toEqual({
      path: '/body/method',
      message: '/body/method: must be one of "custom", "metric", "first_last", "preference", "distribution", "import"',
    })
    // `op` is a literal of two kinds of condition, not what tells them apart: its own error is kept.
    const when = {
      all: [
        { attribute: 'a', op: 'eq', value: 1 },
        { event: 'a', op: 'zz', value: 1 },
      ],
    }
    const r = refusal(Rule, { method: 'custom', values: [{ value: 'x', when }] })
    expect(r.path).toBe('/body/values/0/when/all/1/op')
    expect(r.message).toMatch(/must be one of "eq", "neq", "gt", "gte", "lt", "lte"/)
  })

  it("is a schedule's time, not its kind", () => {
    const label = { name: 'a', displayName: 'A', dataType: 'number', labelType: 'dynamic', rule: preference }
    expect(refusal(LabelInput, { ...label, schedule: { kind: 'daily', at: '24:00' } }).path).toBe('/body/schedule/at')
    expect(refusal(LabelInput, { ...label, schedule: { kind: 'weekly', weekday: 8, at: '02:00' } }).path).toBe(
      '/body/schedule/weekday',
    )
    expect(refusal(LabelInput, { ...label, schedule: { kind: 'hourly' } }).path).toBe('/body/schedule/kind')
  })
})
