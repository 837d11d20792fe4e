import { describe, expect, it } from 'vitest'
import { sideBySide, signed, valueLabel } from '../../client/features/compare/compare-rows.ts'
import { versionHeadline } from '../../client/features/versions/version-words.ts'

const dist = (items: Array<[string | number | boolean | null, number]>) => ({
  labelId: null,
  runId: null,
  asOf: '',
  totalUsers: 10,
  coveredUsers: items.reduce((a, [, n]) => a + n, 0),
  items: items.map(([value, users]) => ({ value, users, proportion: users / 10 })),
})

describe('before/after table rows', () => {
  it('puts every value of either side on one row, 0 where a side lacks it, draft order first', () => {
    const rows = sideBySide({
      current: dist([
        ['a', 5],
        ['b', 2],
      ]),
      draft: dist([
        ['c', 4],
        ['a', 3],
      ]),
    })
    expect(rows).toEqual([
      { value: 'c', current: 0, draft: 4, delta: 4 },
      { value: 'a', current: 5, draft: 3, delta: -2 },
      { value: 'b', current: 2, draft: 0, delta: -2 },
    ])
  })

  it('reads values as operators do', () => {
    expect([valueLabel(null), valueLabel(['x', 'y']), valueLabel([]), valueLabel(false), valueLabel(2.5)]).toEqual([
      'no value',
      'x, y',
      '(empty)',
      'false',
      '2.5',
    ])
    expect([signed(3), signed(-3), signed(0)]).toEqual(['+3', '−3', '0'])
  })

  it('says who did what, how', () => {
    expect(versionHeadline({ kind: 'updated', actor: 'eve', via: 'remote' })).toBe('edited by eve in the browser')
    expect(versionHeadline({ kind: 'restored', actor: 'ada', via: 'rest', restoredFrom: 2 })).toBe(
      'restored version 2 by ada through the API',
    )
    expect(versionHeadline({ kind: 'baseline', actor: 'unknown', via: 'baseline' })).toBe(
      'as it was when the history began',
    )
  })
})
