import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, importRows, newService, type Fixture } from '../calc/fixture.ts'
import type { DistributionQuery } from '../../../engine/api.ts'
import { labelDistribution } from '../../../engine/read/distribution.ts'
import { DistributionCache } from '../../../engine/read/distribution-cache.ts'

describeEachDb('distribution', (kind) => {
  let f: Fixture
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 80)
    // 10 of 80 users: s = a×5, b×3, c×2
    await importRows(
      f.svc,
      'S',
      'string',
      [...'aaaaabbbcc'].map((v, i) => [`u${i + 1}`, v]),
    )
    await importRows(f.svc, 'B', 'boolean', [
      ['u1', 'true'],
      ['u2', 'true'],
      ['u3', 'false'],
    ])
    await importRows(f.svc, 'C', 'collection', [
      ['u1', 'x|y'],
      ['u2', 'y'],
      ['u3', 'y|z'],
    ])
    // few distinct numbers: 1.5×2, -3×1, 10×3
    await importRows(f.svc, 'N', 'number', [
      ['u1', '1.5'],
      ['u2', '1.5'],
      ['u3', '-3'],
      ['u4', '10'],
      ['u5', '10'],
      ['u6', '10'],
    ])
    // 80 distinct numbers 0..79
    await importRows(
      f.svc,
      'M',
      'number',
      Array.from({ length: 80 }, (_, i) => [`u${i + 1}`, String(i)] as [string, string]),
    )
    // dates: Mon 2024-03-04 .. in Tokyo; one at 2024-03-03T16:00Z = 2024-03-04 01:00 Tokyo
    await importRows(
      f.svc,
      'D',
      'date',
      [
        ['u1', '2024-03-03T16:00:00Z'],
        ['u2', '2024-03-04T03:00:00Z'],
        ['u3', '2024-03-10T03:00:00Z'],
        ['u4', '2024-03-11T03:00:00Z'],
        ['u5', '2024-04-02T03:00:00Z'],
      ],
      { tz: 'Asia/Tokyo' },
    )
  })
  afterAll(() => f.dispose())

  const items = async (labelId: string, q: DistributionQuery = {}) =>
    (await f.svc.distribution(labelId, 'string', q))?.items ?? []
  const pairs = async (labelId: string, q: DistributionQuery = {}) =>
    (await items(labelId, q)).map((i) => [i.value, i.users])

  it('string: per value, proportion of all users, sorted by users descending', async () => {
    const d = await f.svc.distribution('S', 'string', {})
    expect(d).toMatchObject({ labelId: 'S', totalUsers: 80, coveredUsers: 10 })
    expect(d?.runId).toMatch(/^r_/)
    expect(d?.items).toEqual([
      { value: 'a', users: 5, proportion: 5 / 80 },
      { value: 'b', users: 3, proportion: 3 / 80 },
      { value: 'c', users: 2, proportion: 2 / 80 },
    ])
  })

  it('top, sort by value and order apply', async () => {
    expect(await pairs('S', { top: 2 })).toEqual([
      ['a', 5],
      ['b', 3],
    ])
    expect(await pairs('S', { order: 'asc' })).toEqual([
      ['c', 2],
      ['b', 3],
      ['a', 5],
    ])
    expect(await pairs('S', { sort: 'value', order: 'desc', top: 2 })).toEqual([
      ['c', 2],
      ['b', 3],
    ])
    expect(await pairs('S', { sort: 'value', order: 'asc' })).toEqual([
      ['a', 5],
      ['b', 3],
      ['c', 2],
    ])
  })

  it('boolean: per value; by value false comes first', async () => {
    expect(await pairs('B')).toEqual([
      [true, 2],
      [false, 1],
    ])
    expect(await pairs('B', { sort: 'value', order: 'asc' })).toEqual([
      [false, 1],
      [true, 2],
    ])
  })

  it('collection: per element, a user counted once in each of its elements', async () => {
    expect(await pairs('C')).toEqual([
      ['y', 3],
      ['x', 1],
      ['z', 1],
    ])
  })

  it('number: exact values when at most 50 distinct, sorted numerically by value', async () => {
    expect(await pairs('N')).toEqual([
      [10, 3],
      [1.5, 2],
      [-3, 1],
    ])
    expect(await pairs('N', { sort: 'value', order: 'asc' })).toEqual([
      [-3, 1],
      [1.5, 2],
      [10, 3],
    ])
  })

  it('number: more than 50 distinct values fall into 10 equal-width bins, the last one closed', async () => {
    const it10 = await items('M', { sort: 'value', order: 'asc' })
    expect(it10).toHaveLength(10)
    expect(it10[0]).toEqual({ value: '[0,7.9)', from: 0, to: 7.9, users: 8, proportion: 0.1 })
    expect(it10[9]).toEqual({ value: '[71.1,79]', from: 71.1, to: 79, users: 8, proportion: 0.1 })
    expect(it10.reduce((s, i) => s + i.users, 0)).toBe(80)
  })

  it('number: bins from the query, also over few distinct values, empty bins listed', async () => {
    const b = await items('M', { bins: 4, sort: 'value', order: 'asc' })
    expect(b.map((i) => [i.value, i.users])).toEqual([
      ['[0,19.75)', 20],
      ['[19.75,39.5)', 20],
      ['[39.5,59.25)', 20],
      ['[59.25,79]', 20],
    ])
    const n = await items('N', { bins: 2, sort: 'value', order: 'asc' })
    expect(n.map((i) => [i.value, i.users])).toEqual([
      ['[-3,3.5)', 3],
      ['[3.5,10]', 3],
    ])
  })

  it('number: boundaries from the query give (-∞,b0) [b0,b1) … [bn,+∞)', async () => {
    const b = await items('M', { boundaries: [10, 50], sort: 'value', order: 'asc' })
    expect(b).toEqual([
      { value: '(-∞,10)', to: 10, users: 10, proportion: 10 / 80 },
      { value: '[10,50)', from: 10, to: 50, users: 40, proportion: 40 / 80 },
      { value: '[50,+∞)', from: 50, users: 30, proportion: 30 / 80 },
    ])
    // query strings arrive as text
    expect((await items('M', { boundaries: '10,50' as never })).map((i) => i.users)).toEqual([40, 30, 10])
  })

  it('date: per day, ISO week (Monday) or month start in the workspace time zone', async () => {
    expect(await pairs('D', { sort: 'value', order: 'asc' })).toEqual([
      ['2024-03-04', 2],
      ['2024-03-10', 1],
      ['2024-03-11', 1],
      ['2024-04-02', 1],
    ])
    const weeks = await items('D', { granularity: 'week', sort: 'value', order: 'asc' })
    expect(weeks.map((i) => [i.value, i.users, i.from, i.to])).toEqual([
      ['2024-03-04', 3, '2024-03-04', '2024-03-11'],
      ['2024-03-11', 1, '2024-03-11', '2024-03-18'],
      ['2024-04-01', 1, '2024-04-01', '2024-04-08'],
    ])
    expect(await pairs('D', { granularity: 'month' })).toEqual([
      ['2024-03-01', 4],
      ['2024-04-01', 1],
    ])
  })

  it('a label without a successful run has no distribution', async () => {
    expect(await f.svc.distribution('nothing', 'string', {})).toBeNull()
  })

  it('bad query parameters are refused with their path', async () => {
    const cases: Array<[DistributionQuery, string]> = [
      [{ top: 0 }, '/top'],
      [{ top: 51 }, '/top'],
      [{ top: 2.5 }, '/top'],
      [{ sort: 'name' as never }, '/sort'],
      [{ order: 'up' as never }, '/order'],
      [{ bins: 0 }, '/bins'],
      [{ bins: 51 }, '/bins'],
      [{ boundaries: [5, 5] }, '/boundaries/1'],
      [{ boundaries: [1, 'x' as never] }, '/boundaries/1'],
      [{ boundaries: [] }, '/boundaries'],
      [{ bins: 3, boundaries: [1] }, '/boundaries'],
      [{ granularity: 'hour' as never }, '/granularity'],
    ]
    for (const [q, path] of cases) {
      await expect(f.svc.distribution('M', 'number', q), JSON.stringify(q)).rejects.toMatchObject({
        code: 'bad_request',
        path,
      })
    }
  })

  it('options that do not apply to the data type are ignored', async () => {
    expect(await pairs('S', { bins: 3, granularity: 'month' })).toEqual([
      ['a', 5],
      ['b', 3],
      ['c', 2],
    ])
  })

  it('repeated reads of one run are served from the cache, a new run is read afresh', async () => {
    await importRows(f.svc, 'R', 'string', [['u1', 'a']])
    const first = await f.svc.distribution('R', 'string', {})
    first!.items[0]!.users = 999 // a caller mutating its copy must not poison the cache
    expect((await f.svc.distribution('R', 'string', {}))?.items).toEqual([{ value: 'a', users: 1, proportion: 1 / 80 }])
    await importRows(f.svc, 'R', 'string', [
      ['u1', 'b'],
      ['u2', 'b'],
    ])
    expect((await f.svc.distribution('R', 'string', {}))?.items).toEqual([{ value: 'b', users: 2, proportion: 2 / 80 }])
  })
  it('a cache hit reads only the pointer, and only reads checked against the pointer are cached', async () => {
    await importRows(f.svc, 'H', 'string', [['u1', 'a']])
    const cache = new DistributionCache()
    const sql: string[] = []
    const counting = new Proxy(f.db, {
      get(target, prop, receiver) {
        if (prop === 'query')
          return (text: string, params?: unknown[]) => {
            sql.push(text)
            return target.query(text, params)
          }
        return Reflect.get(target, prop, receiver)
      },
    })
    const first = await labelDistribution(counting, 'H', {}, cache)
    const misses = sql.length
    expect(misses).toBeGreaterThan(2) // pointer, the read, the pointer again
    const again = await labelDistribution(counting, 'H', {}, cache)
    expect(again).toEqual(first)
    expect(sql.slice(misses)).toHaveLength(1)
    expect(sql[misses]).toMatch(/FROM label_state/)
  })
})
