import { describe, expect, it } from 'vitest'
import { distributionQuery, clampTop, defaultOptions } from '../../client/features/distribution/distribution-options.ts'
import { daysAgo, historyQuery } from '../../client/features/history/history-query.ts'
import { draftFrom, fieldOfPath, toPatch, withLabelType } from '../../client/features/labels/label-form-state.ts'
import { dataTypeFor, defaultRule } from '../../client/features/labels/rule-defaults.ts'
import { conditionText, ruleText } from '../../client/features/labels/rule-text.ts'
import { parseTyped } from '../../client/features/labels/typed-values.ts'
import { LabelInput } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { check } from '../../shared/schemas/validate.ts'
import type { RuleMethod } from '../../shared/schemas/rule.ts'

describe('distribution and history queries', () => {
  it('asks for top N within 1–50 and the chosen sort', () => {
    expect(clampTop(0)).toBe(1)
    expect(clampTop(99)).toBe(50)
    expect(clampTop(Number.NaN)).toBe(10)
    expect(distributionQuery({ ...defaultOptions, top: 70, sort: 'value-asc' }, 'string')).toBe(
      'top=50&sort=value&order=asc',
    )
  })

  it('sends bins only for numbers and granularity only for dates, and format=csv for exports', () => {
    const o = { ...defaultOptions, bins: 12, granularity: 'week' as const }
    expect(distributionQuery(o, 'number')).toBe('top=10&sort=users&order=desc&bins=12')
    expect(distributionQuery(o, 'date', 'csv')).toBe('top=10&sort=users&order=desc&granularity=week&format=csv')
    expect(distributionQuery({ ...o, bins: 0 }, 'number')).not.toContain('bins')
  })

  it('repeats value for each chosen history value', () => {
    expect(historyQuery({ from: '2024-01-01', to: '', values: ['a b', 'c'] }, 'csv')).toBe(
      'from=2024-01-01&value=a+b&value=c&format=csv',
    )
    expect(daysAgo(30, new Date('2024-03-31T12:00:00Z'))).toBe('2024-03-01')
  })
})

describe('label editor state', () => {
  it('starts every method from a rule the shared schema accepts', () => {
    const schema = {
      userAttributes: [{ name: 'city', type: 'string' }],
      events: [
        {
          name: 'purchase',
          properties: [
            { name: 'amount', type: 'number' },
            { name: 'category', type: 'string' },
          ],
        },
      ],
    }
    for (const m of ['custom', 'metric', 'first_last', 'preference', 'distribution', 'import'] as RuleMethod[]) {
      const rule = defaultRule(m, schema)
      expect(() => check(Rule, rule)).not.toThrow()
      const d = { ...draftFrom(undefined, 'default', rule), name: 'x', displayName: 'X' }
      expect(() => check(LabelInput, { ...d, dataType: dataTypeFor(rule, d.dataType) })).not.toThrow()
    }
  })

  it('derives the data type that a method produces', () => {
    expect(dataTypeFor({ method: 'metric', event: 'e', measure: { agg: 'count' } }, 'string')).toBe('number')
    expect(dataTypeFor({ method: 'preference', event: 'e', property: 'p', top: 3 }, 'string')).toBe('collection')
    expect(dataTypeFor({ method: 'first_last', which: 'last', event: 'e', property: '$time' }, 'string')).toBe('date')
    expect(dataTypeFor({ method: 'import' }, 'boolean')).toBe('boolean')
  })

  it('keeps schedule and label type consistent, and patches only what changed', () => {
    const d = draftFrom(undefined, 'g1', { method: 'import' })
    expect(withLabelType(d, 'static').schedule).toEqual({ kind: 'once' })
    expect(withLabelType(withLabelType(d, 'static'), 'dynamic').schedule).toEqual({ kind: 'daily', at: '02:00' })
    expect(toPatch({ ...d, displayName: 'New', rule: { method: 'import' } }, d)).toEqual({ displayName: 'New' })
  })

  it('maps an error path to the form field that shows it', () => {
    expect(fieldOfPath('/rule/values/2/when/all/0/event')).toBe('rule')
    expect(fieldOfPath('/body/name')).toBe('name')
    expect(fieldOfPath('/')).toBeNull()
    expect(fieldOfPath(undefined)).toBeNull()
  })

  it('parses typed filter values: lists for in/between, numbers for numeric properties', () => {
    expect(parseTyped('1, 2', 'between', 'number')).toEqual([1, 2])
    expect(parseTyped('a,b', 'in', 'string')).toEqual(['a', 'b'])
    expect(parseTyped('42', 'eq', 'number')).toBe(42)
    expect(parseTyped('42', 'eq', 'string')).toBe('42')
  })
})

describe('rule in words (basic information)', () => {
  it('describes each method and nested conditions', () => {
    expect(
      ruleText({
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 90 },
        measure: { agg: 'sum', property: 'amount' },
      }),
    ).toEqual(['sum(amount) of purchase in the last 90 days'])
    expect(
      conditionText({
        all: [
          { event: 'purchase', op: 'gte', value: 1 },
          { not: { attribute: 'city', op: 'in', value: ['Paris', 'Rome'] } },
        ],
      }),
    ).toBe('(count of purchase ≥ 1) and (not (city in ["Paris", "Rome"]))')
    expect(
      ruleText({
        method: 'custom',
        values: [{ value: 'vip', when: { attribute: 'tier', op: 'eq', value: 'gold' } }],
        otherwise: 'other',
      }),
    ).toEqual(['"vip" when tier = "gold"', 'otherwise "other"'])
    expect(
      ruleText({
        method: 'first_last',
        which: 'first',
        event: 'visit',
        property: '$time',
        where: [{ property: 'channel', op: 'eq', value: 'ads' }],
      }),
    ).toEqual(['time of the first visit where channel = "ads"'])
  })
})
