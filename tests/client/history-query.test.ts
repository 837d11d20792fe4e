import { expect, it } from 'vitest'
import { parseBoundaryList } from '../../client/features/history/history-query.ts'

it('reads boundaries typed as a list, and says what is wrong with a bad one', () => {
  expect(parseBoundaryList('0, 10,20 50')).toEqual([0, 10, 20, 50])
  expect(parseBoundaryList('-1.5; 0; 2e3')).toEqual([-1.5, 0, 2000])
  expect(parseBoundaryList('  ')).toBe('Give at least one boundary.')
  expect(parseBoundaryList('0, ten')).toBe('"ten" is not a number.')
  expect(parseBoundaryList('5, 5')).toBe('Boundaries must be strictly increasing.')
  expect(parseBoundaryList(Array.from({ length: 50 }, (_, i) => i).join(','))).toMatch(/At most 49/)
})
