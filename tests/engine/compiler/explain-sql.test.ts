import { describe, expect, it } from 'vitest'
import { compileExplain } from '../../../engine/compiler/explain-rule.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { catalogue } from './catalogue-fixture.ts'

const ctx = { catalogue, asOf: new Date('2024-03-15T12:00:00Z'), tz: 'Europe/Paris', uid: 42 }

const rules: Array<[string, DataType, Rule]> = [
  [
    'custom over two tables and an attribute',
    'string',
    {
      method: 'custom',
      values: [
        {
          value: 'a',
          when: {
            all: [
              { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 3 },
              { not: { event: 'view', where: [{ property: 'page', op: 'eq', value: 'cart' }], op: 'eq', value: 0 } },
              {
                any: [
                  { attribute: 'city', op: 'eq', value: 'Paris' },
                  { event: 'purchase', op: 'gte', value: 1 },
                ],
              },
            ],
          },
        },
      ],
      otherwise: 'b',
    },
  ],
  ['metric', 'number', { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' } }],
  ['distribution', 'string', { method: 'distribution', event: 'view', measure: { agg: 'days' }, boundaries: [1, 5] }],
  ['first/last', 'string', { method: 'first_last', which: 'last', event: 'purchase', property: 'product' }],
  ['first/last time', 'date', { method: 'first_last', which: 'first', event: 'purchase', property: '$time' }],
  ['preference', 'collection', { method: 'preference', event: 'view', property: 'page', top: 2 }],
]

describe('compileExplain: one customer, each event table read once', () => {
  for (const [name, dataType, rule] of rules) {
    it(name, () => {
      const x = compileExplain({ dataType, rule }, ctx)
      // The uid is the first parameter; every value is a parameter, never SQL text.
      expect(x.params[0]).toBe(42)
      expect(x.sql).not.toMatch(/Paris|cart|42/)
      // Each event table appears exactly once, as the customer's slice; everything else reads the slices.
      const tables = [...x.sql.matchAll(/\bev\d+\b/g)].map((m) => m[0])
      expect(tables.length).toBe(new Set(tables).size)
      for (const t of tables) expect(x.sql).toContain(`AS MATERIALIZED (SELECT * FROM ${t} WHERE uid = $1::int)`)
      expect(x.sql).toMatch(/ AS value, /)
      expect(x.sql).toMatch(/WHERE u\.uid = \$1::int\)? ?d?$/)
    })
  }

  it('refuses what compileRule refuses, with the JSON path', () => {
    expect(() =>
      compileExplain({ dataType: 'string', rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } } }, ctx),
    ).toThrow(expect.objectContaining({ code: 'invalid', path: '/rule/event' }))
  })
})
