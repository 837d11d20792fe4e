import { describe, expect, it } from 'vitest'
import { compileRule, limits, validateDefinition } from '../../../engine/compiler/index.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { catalogue } from './catalogue-fixture.ts'

const error = (def: unknown): LabelsError => {
  try {
    validateDefinition(def, catalogue)
  } catch (e) {
    if (e instanceof LabelsError) return e
    throw e
  }
  throw new Error('expected a validation error')
}
const expectInvalid = (def: unknown, path: string, message: RegExp) => {
  const e = error(def)
  expect({ code: e.code, status: e.status, path: e.path }).toEqual({ code: 'invalid', status: 422, path })
  expect(e.message).toMatch(message)
}
const valid: Record<string, unknown> = { string: 'a', number: 1, boolean: true, date: '2024-01-01', collection: ['a'] }
const custom = (when: unknown, value: unknown = 'x', dataType = 'string') => ({
  dataType,
  rule: {
    method: 'custom',
    values: [
      { value: valid[dataType], when: { attribute: 'city', op: 'is_set' } },
      { value, when },
    ],
  },
})
const metric = (extra: object, dataType = 'number') => ({
  dataType,
  rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' }, ...extra },
})
const nest = (depth: number): unknown => {
  let c: unknown = { attribute: 'city', op: 'is_set' }
  for (let i = 1; i < depth; i++) c = { not: c }
  return c
}

describe('validateDefinition: malformed shape is bad_request (400)', () => {
  it.each([
    ['unknown method', { dataType: 'string', rule: { method: 'magic' } }],
    ['unknown data type', { dataType: 'text', rule: { method: 'import' } }],
    ['unknown filter op', metric({ where: [{ property: 'amount', op: 'like', value: 1 }] })],
    ['extra field', metric({ colour: 'red' })],
    ['lastDays not an integer', metric({ window: { lastDays: 1.5 } })],
    ['from not a date', metric({ window: { from: '01/02/2024', to: '2024-02-01' } })],
    [
      'too many layers',
      {
        dataType: 'string',
        rule: {
          method: 'custom',
          values: Array.from({ length: 51 }, () => ({ value: 'a', when: { attribute: 'city', op: 'is_set' } })),
        },
      },
    ],
    [
      'in list over 1000',
      metric({ where: [{ property: 'amount', op: 'in', value: Array.from({ length: 1001 }, (_, i) => i) }] }),
    ],
  ])('%s', (_n, def) => {
    const e = error(def)
    expect(e.code).toBe('bad_request')
    expect(e.status).toBe(400)
    expect(e.path).toMatch(/^\//)
  })
})

describe('validateDefinition: well-formed but invalid is 422 with the JSON path', () => {
  it('names an unknown event inside nested conditions', () => {
    expectInvalid(
      custom({ all: [{ attribute: 'city', op: 'is_set' }, { any: [{ event: 'refund', op: 'gt', value: 0 }] }] }),
      '/rule/values/1/when/all/1/any/0/event',
      /unknown event "refund"/,
    )
  })
  it('names an unknown property of a filter', () => {
    expectInvalid(
      custom({
        not: {
          event: 'purchase',
          where: [
            { property: 'amount', op: 'gt', value: 1 },
            { property: 'colour', op: 'eq', value: 'red' },
          ],
          op: 'gt',
          value: 0,
        },
      }),
      '/rule/values/1/when/not/where/1/property',
      /no property "colour"/,
    )
  })
  it('names an unknown attribute', () =>
    expectInvalid(
      custom({ attribute: 'country', op: 'eq', value: 'FR' }),
      '/rule/values/1/when/attribute',
      /unknown user attribute "country"/,
    ))
  it('names an unknown measure property', () =>
    expectInvalid(
      metric({ measure: { agg: 'sum', property: 'price' } }),
      '/rule/measure/property',
      /no property "price"/,
    ))
  it('names an unknown first/last property', () =>
    expectInvalid(
      { dataType: 'string', rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'sku' } },
      '/rule/property',
      /no property "sku"/,
    ))
  it('names an unknown top-level event', () =>
    expectInvalid(metric({ event: 'refund' }), '/rule/event', /unknown event/))
  it('names an unknown preference "by" property', () =>
    expectInvalid(
      {
        dataType: 'string',
        rule: { method: 'preference', event: 'purchase', property: 'product', by: { agg: 'avg', property: 'nope' } },
      },
      '/rule/by/property',
      /no property "nope"/,
    ))

  it.each([
    [
      'string value for a number property',
      { property: 'amount', op: 'gt', value: '10' },
      '/value',
      /type number.*got "10"/,
    ],
    ['number for a string property', { property: 'product', op: 'eq', value: 5 }, '/value', /type string/],
    ['string for a boolean property', { property: 'paid', op: 'eq', value: 'true' }, '/value', /type boolean/],
    ['non-ISO date', { property: 'delivered', op: 'gt', value: '03/01/2024' }, '/value', /ISO date/],
    ['impossible date', { property: 'delivered', op: 'gt', value: '2024-02-30' }, '/value', /ISO date/],
    ['a wrong element of an in list', { property: 'amount', op: 'in', value: [1, 2, 'x'] }, '/value/2', /type number/],
    ['a list for eq', { property: 'amount', op: 'eq', value: [1] }, '/value', /single value/],
    ['no value for gt', { property: 'amount', op: 'gt' }, '/value', /needs a value/],
    ['a scalar for in', { property: 'amount', op: 'in', value: 1 }, '/value', /list of values/],
    [
      'between with three values',
      { property: 'amount', op: 'between', value: [1, 2, 3] },
      '/value',
      /exactly 2 values/,
    ],
    [
      'contains on a number',
      { property: 'amount', op: 'contains', value: 1 },
      '/op',
      /contains does not apply to property "amount" of type number/,
    ],
    ['gt on a boolean', { property: 'paid', op: 'gt', value: true }, '/op', /gt does not apply/],
  ])('filter type mismatch: %s', (_n, filter, suffix, message) => {
    expectInvalid(metric({ where: [{ property: 'amount', op: 'is_set' }, filter] }), `/rule/where/1${suffix}`, message)
  })

  it('rejects an attribute value of the wrong type', () =>
    expectInvalid(
      custom({ attribute: 'age', op: 'between', value: [1, '9'] }),
      '/rule/values/1/when/value/1',
      /type number/,
    ))
  it('rejects between on a behaviour with a single number', () =>
    expectInvalid(custom({ event: 'purchase', op: 'between', value: 3 }), '/rule/values/1/when/value', /\[min, max\]/))
  it('rejects gt on a behaviour with a pair', () =>
    expectInvalid(custom({ event: 'purchase', op: 'gt', value: [1, 2] }), '/rule/values/1/when/value', /single number/))
  it('rejects sum of a string property', () =>
    expectInvalid(
      metric({ measure: { agg: 'sum', property: 'product' } }),
      '/rule/measure/property',
      /sum needs a number property/,
    ))
  it('accepts distinct of a string property', () =>
    expect(() =>
      validateDefinition(metric({ measure: { agg: 'distinct', property: 'product' } }), catalogue),
    ).not.toThrow())
  it('rejects an impossible window date', () =>
    expectInvalid(metric({ window: { from: '2024-02-30', to: '2024-03-01' } }), '/rule/window/from', /calendar date/))
  it('rejects an empty window', () =>
    expectInvalid(metric({ window: { from: '2024-03-01', to: '2024-03-01' } }), '/rule/window/to', /before "to"/))

  it.each([
    ['string', 5, /expected a string/],
    ['number', '5', /expected a number/],
    ['boolean', 'yes', /expected a boolean/],
    ['date', 'tomorrow', /ISO date/],
    ['collection', 'vip', /array of strings/],
    ['collection', ['a', 1], /array of strings/],
  ])('custom layer value must fit data type %s', (dataType, value, message) => {
    expectInvalid(custom({ attribute: 'city', op: 'is_set' }, value, dataType), '/rule/values/1/value', message)
  })
  it('checks otherwise against the data type', () => {
    expectInvalid(
      {
        dataType: 'number',
        rule: {
          method: 'custom',
          values: [{ value: 1, when: { attribute: 'city', op: 'is_set' } }],
          otherwise: 'none',
        },
      },
      '/rule/otherwise',
      /expected a number/,
    )
  })

  it.each([
    ['metric as string', metric({}, 'string'), /produces number values/],
    [
      'distribution as number',
      {
        dataType: 'number',
        rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1] },
      },
      /produces string values/,
    ],
    [
      '$time as string',
      { dataType: 'string', rule: { method: 'first_last', which: 'first', event: 'purchase', property: '$time' } },
      /produces date values/,
    ],
    [
      'number property as string',
      { dataType: 'string', rule: { method: 'first_last', which: 'first', event: 'purchase', property: 'amount' } },
      /produces number values/,
    ],
    [
      'preference top 3 as string',
      { dataType: 'string', rule: { method: 'preference', event: 'purchase', property: 'product', top: 3 } },
      /collection \(top 3\)/,
    ],
    [
      'preference top 1 as collection',
      { dataType: 'collection', rule: { method: 'preference', event: 'purchase', property: 'product' } },
      /string \(top 1\)/,
    ],
    [
      'preference of a date as string',
      { dataType: 'string', rule: { method: 'preference', event: 'purchase', property: 'delivered' } },
      /date \(top 1\)/,
    ],
  ])('data type must fit the method: %s', (_n, def, message) => expectInvalid(def, '/dataType', message))

  it('distribution boundaries must increase strictly', () => {
    expectInvalid(
      {
        dataType: 'string',
        rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1, 5, 5] },
      },
      '/rule/boundaries/2',
      /increase strictly/,
    )
  })
  it('distribution names must be one more than the boundaries', () => {
    expectInvalid(
      {
        dataType: 'string',
        rule: {
          method: 'distribution',
          event: 'purchase',
          measure: { agg: 'count' },
          boundaries: [1, 5],
          names: ['a', 'b'],
        },
      },
      '/rule/names',
      /needs 3 entries, got 2/,
    )
  })

  it(`limits nesting to ${limits.conditionDepth} levels`, () => {
    expect(() => validateDefinition(custom(nest(limits.conditionDepth)), catalogue)).not.toThrow()
    expectInvalid(
      custom(nest(limits.conditionDepth + 1)),
      `/rule/values/1/when${'/not'.repeat(limits.conditionDepth)}`,
      /at most 10 levels/,
    )
  })
  it('rejects absurd nesting with a 422 instead of overflowing the stack', () => {
    const e = error(custom(nest(20_000)))
    expect(e.code).toBe('invalid')
    expect(e.message).toMatch(/nests too deeply/)
  })
  it(`limits a rule to ${limits.conditions} conditions across layers`, () => {
    const leaf = { attribute: 'city', op: 'is_set' }
    const layer = { value: 'a', when: { any: Array.from({ length: 49 }, () => leaf) } } // 50 conditions
    const values = Array.from({ length: 11 }, () => layer) // 550 > 500
    const e = error({ dataType: 'string', rule: { method: 'custom', values } })
    expect(e.code).toBe('invalid')
    expect(e.path).toBe('/rule/values/10/when')
    expect(e.message).toMatch(/at most 500 conditions/)
  })

  it('import validates but does not compile', () => {
    const def = { dataType: 'collection', rule: { method: 'import' } } as const
    expect(() => validateDefinition(def, catalogue)).not.toThrow()
    expect(() => compileRule(def, { catalogue, asOf: new Date(), tz: 'UTC' })).toThrow(
      /values come from uploaded files/,
    )
  })
})
