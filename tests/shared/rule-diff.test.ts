import { describe, expect, it } from 'vitest'
import {
  definitionOf,
  diffDefinitions,
  diffRules,
  isNewVersion,
  sameJson,
  type LabelDefinition,
} from '../../shared/rule-diff.ts'
import type { Rule } from '../../shared/schemas/rule.ts'

const texts = (a: Rule, b: Rule) => diffRules(a, b).map((c) => c.text)

const base: LabelDefinition = {
  name: 'buyers',
  displayName: 'Buyers',
  groupId: 'default',
  dataType: 'string',
  labelType: 'dynamic',
  schedule: { kind: 'daily', at: '06:00' },
  enabled: true,
  description: '',
  rule: { method: 'import' },
}

describe('diffRules: custom label values', () => {
  const a: Rule = {
    method: 'custom',
    values: [
      { value: 'Gold', when: { attribute: 'tier', op: 'eq', value: 'gold' } },
      {
        value: 'VIP',
        when: {
          all: [
            { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 3 },
            { attribute: 'city', op: 'eq', value: 'Paris' },
          ],
        },
      },
    ],
    otherwise: false,
  }

  it('names the layer and the condition whose window changed', () => {
    const b = structuredClone(a) as typeof a
    ;(b.values[1]!.when as { all: Array<{ window?: unknown }> }).all[0]!.window = { lastDays: 7 }
    expect(texts(a, b)).toEqual(["Layer 2 'VIP': condition 1 window changed from last 30 days to last 7 days"])
    expect(diffRules(a, b)[0]!.path).toBe('/rule/values/1/when/all/0/window')
  })

  it('says otherwise moved to no value', () => {
    const b = { ...a, otherwise: undefined }
    expect(texts(a, b)).toEqual(['otherwise changed from false to no value'])
  })

  it('reports a comparison, a measure and a filter of a behaviour condition', () => {
    const b = structuredClone(a) as typeof a
    const c = (b.values[1]!.when as unknown as { all: Array<Record<string, unknown>> }).all[0]!
    c.op = 'between'
    c.value = [1, 5]
    c.measure = { agg: 'sum', property: 'amount' }
    c.where = [{ property: 'amount', op: 'gt', value: 10 }]
    expect(texts(a, b)).toEqual([
      "Layer 2 'VIP': condition 1 filter added: amount > 10",
      "Layer 2 'VIP': condition 1 measure changed from count to sum(amount)",
      "Layer 2 'VIP': condition 1 comparison changed from ≥ 3 to between 1 and 5",
    ])
  })

  it('keeps unchanged layers out when one is inserted before them', () => {
    const b = structuredClone(a) as typeof a
    b.values.unshift({ value: 'New', when: { attribute: 'age', op: 'lt', value: 18 } })
    expect(texts(a, b)).toEqual(["Layer 1 'New' added: when age < 18"])
  })

  it('reports a removed layer, a changed layer value and a replaced attribute condition', () => {
    const b = structuredClone(a) as typeof a
    b.values.shift()
    b.values[0]!.value = 'Premium'
    ;(b.values[0]!.when as { all: unknown[] }).all[1] = { attribute: 'city', op: 'in', value: ['Paris', 'Lyon'] }
    expect(texts(a, b)).toEqual([
      'Layer 1 \'Gold\' removed (was: when tier = "gold")',
      "Layer 1: value changed from 'VIP' to 'Premium'",
      'Layer 1 \'Premium\': condition 2 changed from city = "Paris" to city in ["Paris", "Lyon"]',
    ])
  })

  it('says when all became any', () => {
    const b = structuredClone(a) as typeof a
    const w = b.values[1]!.when as { all?: unknown[]; any?: unknown[] }
    w.any = w.all
    delete w.all
    expect(texts(a, b)).toEqual(["Layer 2 'VIP': conditions now needs any of its conditions instead of all"])
  })

  it('goes into nested and negated conditions', () => {
    const x: Rule = {
      method: 'custom',
      values: [
        {
          value: 1,
          when: { any: [{ not: { event: 'refund', op: 'gte', value: 1 } }, { attribute: 'vip', op: 'is_set' }] },
        },
      ],
    }
    const y = structuredClone(x) as typeof x
    ;(y.values[0]!.when as { any: Array<{ not: { value: number } }> }).any[0]!.not.value = 2
    expect(texts(x, y)).toEqual(['Layer 1 1: condition 1 (negated) comparison changed from ≥ 1 to ≥ 2'])
  })

  it('finds nothing between equal rules written with other key orders', () => {
    const b = JSON.parse(JSON.stringify({ otherwise: false, values: a.values, method: 'custom' })) as Rule
    expect(diffRules(a, b)).toEqual([])
  })
})

describe('diffRules: the other methods', () => {
  it('metric: event, window and measure', () => {
    const a: Rule = { method: 'metric', event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' } }
    const b: Rule = {
      method: 'metric',
      event: 'order',
      window: { from: '2024-01-01', to: '2024-02-01' },
      measure: { agg: 'avg', property: 'amount' },
    }
    expect(texts(a, b)).toEqual([
      'event changed from purchase to order',
      'window changed from last 30 days to 2024-01-01 to 2024-02-01',
      'measure changed from count to avg(amount)',
    ])
  })

  it('metric: a window removed reads as all time, a filter changed in place', () => {
    const a: Rule = {
      method: 'metric',
      event: 'purchase',
      where: [{ property: 'amount', op: 'gte', value: 10 }],
      window: { lastDays: 1 },
      measure: { agg: 'days' },
    }
    const b: Rule = {
      method: 'metric',
      event: 'purchase',
      where: [{ property: 'amount', op: 'gte', value: 20 }],
      measure: { agg: 'days' },
    }
    expect(texts(a, b)).toEqual([
      'filter 1 changed from amount ≥ 10 to amount ≥ 20',
      'window changed from last 1 day to all time',
    ])
  })

  it('first_last: which and property ($time as time)', () => {
    const a: Rule = { method: 'first_last', which: 'first', event: 'purchase', property: '$time' }
    const b: Rule = { method: 'first_last', which: 'last', event: 'purchase', property: 'category' }
    expect(texts(a, b)).toEqual(['which event changed from first to last', 'property changed from time to category'])
  })

  it('preference: property, ranking measure, top (1 when omitted), filter removed', () => {
    const a: Rule = {
      method: 'preference',
      event: 'view',
      where: [{ property: 'price', op: 'is_set' }],
      property: 'category',
    }
    const b: Rule = { method: 'preference', event: 'view', property: 'brand', by: { agg: 'days' }, top: 3 }
    expect(texts(a, b)).toEqual([
      'filter removed: price is set',
      'property changed from category to brand',
      'ranking measure changed from count to active days',
      'top changed from 1 to 3',
    ])
  })

  it('distribution: boundaries and names', () => {
    const a: Rule = { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [0, 10, 100] }
    const b: Rule = {
      method: 'distribution',
      event: 'purchase',
      measure: { agg: 'count' },
      boundaries: [0, 20, 100],
      names: ['none', 'few', 'some', 'many'],
    }
    expect(texts(a, b)).toEqual([
      'boundaries changed from [0,10,100] to [0,20,100]',
      'interval names changed from the intervals as written to none, few, some, many',
    ])
  })

  it('import: nothing to compare', () => {
    expect(diffRules({ method: 'import' }, { method: 'import' })).toEqual([])
  })

  it('another method: one change with the new rule in words', () => {
    const b: Rule = { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' } }
    expect(texts({ method: 'import' }, b)).toEqual([
      'method changed from Import to Basic metric value: sum(amount) of purchase',
    ])
  })
})

describe('diffDefinitions', () => {
  it('lists every field of a new label', () => {
    const t = diffDefinitions(null, base).map((c) => c.text)
    expect(t).toEqual([
      'name set to "buyers"',
      'display name set to "Buyers"',
      'group set to "default"',
      'data type set to string',
      'label type set to dynamic',
      'schedule set to daily at 06:00',
      'status set to enabled',
      'description set to empty',
      'rule set to Import: values uploaded from CSV files',
    ])
  })

  it('names fields in words and groups by name', () => {
    const b: LabelDefinition = {
      ...base,
      displayName: 'Big buyers',
      schedule: { kind: 'weekly', weekday: 1, at: '06:00' },
      enabled: false,
      groupId: 'g1',
    }
    const t = diffDefinitions(base, b, { groupName: (id) => (id === 'g1' ? 'Retention' : 'Default') }).map(
      (c) => c.text,
    )
    expect(t).toEqual([
      'display name changed from "Buyers" to "Big buyers"',
      'group changed from "Default" to "Retention"',
      'schedule changed from daily at 06:00 to weekly on Monday at 06:00',
      'status changed from enabled to disabled',
    ])
  })

  it('a move alone is no new version; any versioned field is', () => {
    expect(isNewVersion(base, { ...base, groupId: 'other' })).toBe(false)
    expect(isNewVersion(base, { ...base, description: 'x' })).toBe(true)
    expect(isNewVersion(base, { ...base, rule: { method: 'metric', event: 'e', measure: { agg: 'count' } } })).toBe(
      true,
    )
  })

  it('definitionOf drops everything but the definition', () => {
    const withExtras = { ...base, id: 'x', order: 'a0', createdAt: 'now' } as LabelDefinition
    expect(definitionOf(withExtras)).toEqual(base)
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true)
  })
})
