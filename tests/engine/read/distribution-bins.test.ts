import { expect, it } from 'vitest'
import { binIntervals, distributionItems } from '../../../engine/read/distribution-items.ts'
import { resolveQuery } from '../../../engine/read/distribution-query.ts'
import { describeEachDb, newDb } from '../../helpers/db.ts'

// Values near ±1e308 made hi − lo overflow to Infinity, and the bins read "[Infinity,Infinity)",
// "[NaN,Infinity)" (second black-box audit, 2026-12-06).

it('equal-width bins over a range wider than the largest double have finite edges', () => {
  const bins = binIntervals(-1e308, 1e308, 4)
  expect(bins.map((b) => b.value)).toEqual(['[-1e+308,-5e+307)', '[-5e+307,0)', '[0,5e+307)', '[5e+307,1e+308]'])
  expect(bins.every((b) => Number.isFinite(b.from) && Number.isFinite(b.to))).toBe(true)
  // An ordinary range keeps its edges as before.
  expect(binIntervals(0, 1, 10).map((b) => b.value)).toEqual([
    '[0,0.1)',
    '[0.1,0.2)',
    '[0.2,0.3)',
    '[0.3,0.4)',
    '[0.4,0.5)',
    '[0.5,0.6)',
    '[0.6,0.7)',
    '[0.7,0.8)',
    '[0.8,0.9)',
    '[0.9,1]',
  ])
})

describeEachDb('bins over extreme values', (kind) => {
  // (Values far closer to an edge than 1e308's precision may fall either side of it.)
  it('counts every customer in a finite bin', async () => {
    const db = await newDb(kind)
    try {
      await db.exec(`CREATE TABLE res_x (uid int, value float8)`)
      await db.exec(`INSERT INTO res_x VALUES (1, -1e308), (2, -3e307), (3, 1), (4, 2e307), (5, 6e307), (6, 1e308)`)
      const items = await distributionItems(
        db,
        'res_x',
        'number',
        resolveQuery({ bins: 4, sort: 'value', order: 'asc' }),
        'UTC',
        {
          totalUsers: 6,
          coveredUsers: 6,
        },
      )
      expect(items.map((i) => [i.value, i.users])).toEqual([
        ['[-1e+308,-5e+307)', 1],
        ['[-5e+307,0)', 1],
        ['[0,5e+307)', 2],
        ['[5e+307,1e+308]', 2],
      ])
    } finally {
      await db.dispose()
    }
  })
})
