/**
 * Which rules an incremental run computes from their stored values and the window's edges
 * (compiler/emit-delta.ts): the compiler marks those statements `delta`, and the others come out
 * as the plain restricted statement. What the delta forms compute is checked against full runs in
 * tests/engine/calc/incremental.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { compileRule } from '../../../engine/compiler/index.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { catalogue } from './catalogue-fixture.ts'

const baseAsOf = new Date('2024-03-14T12:00:00Z')
const asOf = new Date('2024-03-15T12:00:00Z')
const delta = { baseAsOf, stored: 'res_1', affected: 'labels_affected', recompute: 'labels_recompute' }

const compiled = (dataType: DataType, rule: Rule, at = asOf) =>
  compileRule({ dataType, rule }, { catalogue, asOf: at, tz: 'UTC', only: delta.affected, delta })

const cases: Array<{ name: string; dataType: DataType; rule: Rule; delta: boolean }> = [
  {
    name: 'a count over lastDays',
    dataType: 'number',
    rule: { method: 'metric', event: 'view', window: { lastDays: 7 }, measure: { agg: 'count' } },
    delta: true,
  },
  {
    name: 'a sum (doubles would drift)',
    dataType: 'number',
    rule: { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' } },
    delta: false,
  },
  {
    name: 'the last value over all time',
    dataType: 'string',
    rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'product' },
    delta: true,
  },
  {
    name: 'the last value over lastDays',
    dataType: 'string',
    rule: { method: 'first_last', which: 'last', event: 'purchase', window: { lastDays: 30 }, property: 'product' },
    delta: true,
  },
  {
    name: 'the first time over lastDays',
    dataType: 'date',
    rule: { method: 'first_last', which: 'first', event: 'view', window: { lastDays: 3 }, property: '$time' },
    delta: true,
  },
  {
    name: 'a preference',
    dataType: 'string',
    rule: { method: 'preference', event: 'view', property: 'page', by: { agg: 'count' }, top: 1 },
    delta: false,
  },
]

describe('delta forms', () => {
  for (const c of cases)
    it(`${c.name}: ${c.delta ? 'updated from the edges' : 'read again'}`, () => {
      const q = compiled(c.dataType, c.rule)
      expect(q.only).toBe(delta.affected)
      expect(q.delta === true).toBe(c.delta)
      // The delta form reads the stored values; the plain restricted statement doesn't.
      expect(q.sql.includes(delta.stored)).toBe(c.delta)
    })

  it('a first/last asked for an asOf before the stored one is read again (rows would come back into the window)', () => {
    const q = compiled(
      'string',
      { method: 'first_last', which: 'last', event: 'purchase', window: { lastDays: 30 }, property: 'product' },
      new Date('2024-03-13T12:00:00Z'),
    )
    expect(q.delta).toBeUndefined()
  })
})
