import { describe, expect, it } from 'vitest'
import { describePath, overwrites } from '../../client/features/labels/draft-state.ts'

describe('draft editor helpers', () => {
  it('reports a path I wrote last that now has another author, and nothing else', () => {
    const before = {
      '/displayName': 'eve',
      '/rule/boundaries/2': 'eve',
      '/rule/values/0/value': 'ada',
      '/description': 'eve',
    }
    const after = {
      '/displayName': 'ada',
      '/rule/boundaries/2': 'bob',
      '/rule/values/0/value': 'eve',
      '/description': 'eve',
    }
    expect(overwrites(before, after, 'eve')).toEqual([
      { path: '/displayName', by: 'ada' },
      { path: '/rule/boundaries/2', by: 'bob' },
    ])
    expect(overwrites({}, after, 'eve')).toEqual([])
    expect(overwrites(before, {}, 'eve')).toEqual([]) // a published/discarded draft is not an overwrite
  })

  it('names draft paths as an operator reads them', () => {
    expect(describePath('/displayName')).toBe('Display name')
    expect(describePath('/rule/values/1/when/all/0/window/lastDays')).toBe(
      'Rule › layer 2 › when › all › #1 › window › lastDays',
    )
    expect(describePath('/rule/boundaries/2')).toBe('Rule › boundaries › #3')
  })
})
