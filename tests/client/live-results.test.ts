import { describe, expect, it } from 'vitest'
import type { Distribution } from '../../client/api/types.ts'
import { defaultOptions, fromPush } from '../../client/features/distribution/distribution-options.ts'
import { filterHistory, rangeFilter, validRange } from '../../client/features/history/history-query.ts'

const push: Distribution = {
  labelId: 'l1',
  runId: 'r9',
  asOf: '2026-11-28T10:00:00.000Z',
  totalUsers: 100,
  coveredUsers: 60,
  items: Array.from({ length: 12 }, (_, i) => ({ value: `v${i}`, users: 12 - i, proportion: (12 - i) / 100 })),
}

describe('pushed distribution', () => {
  it('answers the default query (users, most first) as its first N items', () => {
    const d = fromPush(push, { ...defaultOptions, top: 3 }, 'string')
    expect(d).toEqual({ ...push, items: push.items.slice(0, 3) })
    expect(fromPush(push, defaultOptions, 'boolean')?.items).toHaveLength(10)
    expect(fromPush(push, { ...defaultOptions, top: 50 }, 'string')?.items).toHaveLength(12)
  })

  it('does not answer another order, chosen bins or a coarser date bucket', () => {
    for (const sort of ['users-asc', 'value-asc', 'value-desc'] as const)
      expect(fromPush(push, { ...defaultOptions, sort }, 'string')).toBeNull()
    expect(fromPush(push, { ...defaultOptions, bins: 5 }, 'number')).toBeNull()
    expect(fromPush(push, { ...defaultOptions, bins: 5 }, 'string')).not.toBeNull()
    expect(fromPush(push, { ...defaultOptions, granularity: 'week' }, 'date')).toBeNull()
    expect(fromPush(push, { ...defaultOptions, granularity: 'week' }, 'collection')).not.toBeNull()
  })
})

describe('history filtering', () => {
  const items = [
    { date: '2026-11-01', value: 'a', users: 1, proportion: 0.1 },
    { date: '2026-11-01', value: 'b', users: 2, proportion: 0.2 },
    { date: '2026-11-15', value: 'a', users: 3, proportion: 0.3 },
    { date: '2026-11-30', value: 'b', users: 4, proportion: 0.4 },
  ]

  it('keeps from/to inclusive and the chosen values, in order', () => {
    expect(filterHistory(items, { from: '2026-11-01', to: '2026-11-15', values: [] }).map((i) => i.users)).toEqual([
      1, 2, 3,
    ])
    expect(filterHistory(items, { from: '2026-11-02', to: '', values: [] }).map((i) => i.users)).toEqual([3, 4])
    expect(filterHistory(items, { from: '', to: '', values: ['b'] }).map((i) => i.users)).toEqual([2, 4])
  })

  it('reads ranges without values, and knows the range the server refuses', () => {
    expect(rangeFilter({ from: 'x', to: 'y', values: ['a'] })).toEqual({ from: 'x', to: 'y', values: [] })
    expect(validRange({ from: '2026-11-02', to: '2026-11-01', values: [] })).toBe(false)
    expect(validRange({ from: '2026-11-02', to: '', values: [] })).toBe(true)
  })
})
