import { describe, expect, it } from 'vitest'
import { dataTypeFor } from '../../client/features/labels/rule-defaults.ts'

const schema = {
  userAttributes: [],
  events: [
    {
      name: 'purchase',
      properties: [
        { name: 'category', type: 'string' as const },
        { name: 'amount', type: 'number' as const },
        { name: 'gift', type: 'boolean' as const },
        { name: 'shipped', type: 'date' as const },
      ],
    },
  ],
}

describe('the data type follows the chosen property', () => {
  it('first/last takes the property type (a date label switches to string for a string property)', () => {
    const fl = (property: string) => ({
      method: 'first_last' as const,
      which: 'last' as const,
      event: 'purchase',
      property,
    })
    expect(dataTypeFor(fl('category'), 'date', schema)).toBe('string')
    expect(dataTypeFor(fl('amount'), 'date', schema)).toBe('number')
    expect(dataTypeFor(fl('gift'), 'string', schema)).toBe('boolean')
    expect(dataTypeFor(fl('shipped'), 'string', schema)).toBe('date')
    expect(dataTypeFor(fl('$time'), 'string', schema)).toBe('date')
    // Unknown to the schema (not loaded yet): the operator's choice stays.
    expect(dataTypeFor(fl('nope'), 'number', schema)).toBe('number')
    expect(dataTypeFor(fl('category'), 'number')).toBe('number')
  })

  it('a top-1 preference keeps string for a non-date property, else takes its type', () => {
    const pref = (property: string) => ({ method: 'preference' as const, event: 'purchase', property })
    expect(dataTypeFor(pref('amount'), 'string', schema)).toBe('string')
    expect(dataTypeFor(pref('amount'), 'date', schema)).toBe('number')
    expect(dataTypeFor(pref('shipped'), 'string', schema)).toBe('date')
    expect(dataTypeFor(pref('category'), 'collection', schema)).toBe('string')
    expect(dataTypeFor({ ...pref('category'), top: 3 }, 'string', schema)).toBe('collection')
  })
})
