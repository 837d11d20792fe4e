import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import type { SourceSql } from '../../../engine/calc/execute-run.ts'
import { niceBoundaries, quantileBoundaries } from '../../../engine/calc/history-buckets.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, type Fixture } from './fixture.ts'

const num: Definition = { dataType: 'number', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }
const date: Definition = { ...num, dataType: 'date' }

it('nice boundaries cover the range in 1, 2 or 5 × 10^k steps, whole steps for whole numbers', () => {
  expect(niceBoundaries(0, 99, true)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
  expect(niceBoundaries(3, 7, true)).toEqual([3, 4, 5, 6, 7, 8])
  expect(niceBoundaries(0.12, 0.9, false)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
  expect(niceBoundaries(5, 5, true)).toEqual([4, 5, 6])
})

/** Percentiles 0..100 of the values (linear between ranks, as percentile_cont). */
const percentiles = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b)
  return Array.from({ length: 101 }, (_, i) => {
    const p = (i / 100) * (s.length - 1)
    const j = Math.floor(p)
    const a = s[j] as number
    return j + 1 < s.length ? a + ((s[j + 1] as number) - a) * (p - j) : a
  })
}
/** The quantile boundaries of these values, as ensureBuckets asks for them. */
const boundariesOf = (values: number[]) =>
  quantileBoundaries(
    percentiles(values),
    values.every(Number.isInteger),
    [...new Set(values)].sort((a, b) => a - b).slice(0, 12),
  )
/** How many values fall in each interval (-∞,b0) [b0,b1) … [bn,+∞). */
const spread = (values: number[], bounds: number[]) => {
  const n = new Array<number>(bounds.length + 1).fill(0)
  for (const v of values) {
    const i = bounds.filter((b) => b <= v).length
    n[i] = (n[i] as number) + 1
  }
  return n
}
/** A long tail: 100 customers, e^(k/10) rounded, 1 … 22026 (most in the lowest nice step). */
const skewed = Array.from({ length: 100 }, (_, k) => Math.round(Math.exp((k + 1) / 10)))

it('quantile boundaries: evenly filled intervals at two significant digits, as nice ones on even data', () => {
  const even = Array.from({ length: 100 }, (_, i) => i)
  expect(boundariesOf(even)).toEqual(niceBoundaries(0, 99, true))
  const b = boundariesOf(skewed)
  expect(b).toEqual([1, 3, 8, 22, 59, 160, 430, 1200, 3200, 8400, 23000])
  expect(Math.max(...spread(skewed, b))).toBeLessThanOrEqual(11)
  // Plain nice steps over min..max (the old choice) put 76 of the 100 in the first interval.
  expect(Math.max(...spread(skewed, niceBoundaries(1, 22026, true)))).toBe(76)
  // A value most customers share gets its own interval; the rest is still spread.
  const zeros = [...new Array(90).fill(0), ...Array.from({ length: 20 }, (_, i) => 3 + 18 * i)]
  const z = boundariesOf(zeros)
  expect(z[0]).toBe(0)
  expect(z[1]).toBeLessThanOrEqual(3)
  const zs = spread(zeros, z)
  expect(zs.slice(0, 2)).toEqual([0, 90])
  expect(zs.length).toBeGreaterThanOrEqual(8)
  expect(Math.max(...zs.slice(2))).toBeLessThanOrEqual(4)
  // Strictly increasing, the first at or below the minimum, the last above the maximum.
  for (const v of [skewed, zeros, [5, 5, 5], [1, 1, 1, 1, 2], [1, 2, 3, 1000], even.map((x) => x * 1.7 - 20)]) {
    const q = boundariesOf(v)
    expect(q.every((x, i) => i === 0 || x > (q[i - 1] as number))).toBe(true)
    expect(q[0]).toBeLessThanOrEqual(Math.min(...v))
    expect(q[q.length - 1]).toBeGreaterThan(Math.max(...v))
  }
  expect(boundariesOf([5, 5, 5])).toEqual([4, 5, 6])
  // At most 11 distinct values: one interval each, nice steps when they part them.
  expect(boundariesOf([1.5, 3, 4.5, 6])).toEqual(niceBoundaries(1.5, 6, false))
  expect(boundariesOf([1, 2, 3, 1000, 1000])).toEqual([1, 2, 3, 1000, 1100])
})

describeEachDb('fixed history buckets', (kind) => {
  let f: Fixture
  let source: SourceSql
  let seq = 0
  const label = () => `b${++seq}`
  beforeAll(async () => {
    f = await newService(kind, async () => source)
    await addUsers(f.db, 100)
  })
  afterAll(() => f.dispose())

  const run = async (labelId: string, asOf: string, d: Definition = num) => {
    const r = await f.svc.createRun({ labelId, trigger: 'manual', asOf, definition: d })
    const done = await f.svc.executeRun(r.id, { tz: 'UTC' })
    expect(done.status, done.error).toBe('succeeded')
  }
  const values = (sql: string) => ({ sql: `SELECT uid, ${sql} AS value FROM users`, params: [] })
  /** [date, value, users] of every row. */
  const rows = async (labelId: string) =>
    (await f.svc.history(labelId, {})).items.map((i) => [i.date, i.value, i.users] as [string, string, number])
  const keysOf = (r: Array<[string, string, number]>, day: string) => r.filter((x) => x[0] === day).map((x) => x[1])

  it('keeps the same buckets every day as values drift; the open-ended ends count the outliers', async () => {
    const L = label()
    source = values(`(uid - 1)::float8`) // 0..99
    await run(L, '2024-03-01T12:00:00Z')
    source = values(`(uid * 1.7 - 20)::float8`) // -18.3..150
    await run(L, '2024-03-02T12:00:00Z')
    source = values(`(uid * 0.37 + 3.3)::float8`) // 3.67..40.3: few distinct whole values, many decimals
    await run(L, '2024-03-03T12:00:00Z')
    const r = await rows(L)
    const day1 = keysOf(r, '2024-03-01')
    expect(day1).toHaveLength(12)
    expect(keysOf(r, '2024-03-02')).toEqual(day1)
    expect(keysOf(r, '2024-03-03')).toEqual(day1)
    const users = (day: string, key: string) => r.find((x) => x[0] === day && x[1] === key)?.[2]
    expect(users('2024-03-01', '(-∞,0)')).toBe(0)
    expect(users('2024-03-01', '[90,100)')).toBe(10)
    // uid 1..11 give -18.3..-1.3: below the first boundary; uid 71..100 give 100.7..150: at or above the last.
    expect(users('2024-03-02', '(-∞,0)')).toBe(11)
    expect(users('2024-03-02', '[100,+∞)')).toBe(30)
    const b = await f.svc.historyBuckets(L, 'number')
    expect(b.buckets).toMatchObject({ boundaries: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], source: 'first_run' })
    expect(b.otherDays).toEqual([])
  })

  it('keeps a number label per exact value while it has at most 50 distinct, then fixes intervals and counts the earlier days in them', async () => {
    // SPEC §7: history per day, per value, as the distribution (exact values up to 50 distinct).
    const L = label()
    source = values(`(uid % 5)::float8`) // 0..4, 20 customers each
    await run(L, '2024-04-01T12:00:00Z')
    expect(await rows(L)).toEqual(['0', '1', '2', '3', '4'].map((v) => ['2024-04-01', v, 20]))
    expect((await f.svc.history(L, { values: ['3'] })).items).toEqual([
      { date: '2024-04-01', value: '3', users: 20, proportion: 0.2 },
    ])
    expect((await f.svc.historyBuckets(L, 'number')).buckets).toBeNull()
    source = values(`(uid % 50)::float8`) // 50 distinct: still exact
    await run(L, '2024-04-02T12:00:00Z')
    expect(keysOf(await rows(L), '2024-04-02')).toHaveLength(50)
    expect((await f.svc.historyBuckets(L, 'number')).buckets).toBeNull()
    source = values(`(uid - 1)::float8`) // 0..99: 100 distinct, intervals from now on
    await run(L, '2024-04-03T12:00:00Z')
    const b = (await f.svc.historyBuckets(L, 'number')).buckets
    expect(b).toMatchObject({ boundaries: [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], source: 'first_run' })
    const r = await rows(L)
    // Every day in the same intervals, the earlier ones counted again from their exact values.
    const day3 = keysOf(r, '2024-04-03')
    expect(keysOf(r, '2024-04-01')).toEqual(day3)
    expect(keysOf(r, '2024-04-02')).toEqual(day3)
    const users = (day: string, key: string) => r.find((x) => x[0] === day && x[1] === key)?.[2]
    expect(users('2024-04-01', '[0,10)')).toBe(100)
    expect(users('2024-04-02', '[40,50)')).toBe(20)
    expect(users('2024-04-03', '[90,100)')).toBe(10)
    expect((await f.svc.historyBuckets(L, 'number')).otherDays).toEqual([])
  })

  it('spreads a skewed first result over several intervals (quantiles), and keeps them', async () => {
    const L = label()
    source = values(`round(exp(uid / 10.0))::float8`) // 1 … 22026, the same long tail as \`skewed\`
    await run(L, '2024-03-01T12:00:00Z')
    const b = await f.svc.historyBuckets(L, 'number')
    expect(b.buckets).toMatchObject({ boundaries: boundariesOf(skewed), source: 'first_run' })
    const r = await rows(L)
    expect(r).toHaveLength(12)
    expect(Math.max(...r.map((x) => x[2]))).toBeLessThanOrEqual(11)
    source = values(`round(exp(uid / 9.0))::float8`)
    await run(L, '2024-03-02T12:00:00Z')
    expect(keysOf(await rows(L), '2024-03-02')).toEqual(keysOf(r, '2024-03-01'))
  })

  it('re-buckets stored days on a coarsening, keeps and flags the days it cannot re-count', async () => {
    const L = label()
    source = values(`(uid - 1)::float8`)
    await run(L, '2024-03-01T12:00:00Z')
    // A day stored before fixed buckets, as exact values: it can be re-counted in any boundaries.
    await f.db.query(
      `INSERT INTO history (label_id, date, value, users, total_users, run_id) VALUES
        ($1, '2024-02-28', '5', 3, 100, 'old'), ($1, '2024-02-28', '55.5', 2, 100, 'old')`,
      [L],
    )
    // …and one in the old equal-width bins, which only a boundary at their edges can re-count.
    await f.db.query(
      `INSERT INTO history (label_id, date, value, users, total_users, run_id) VALUES
        ($1, '2024-02-29', '[0,49.5)', 50, 100, 'old'), ($1, '2024-02-29', '[49.5,99]', 50, 100, 'old')`,
      [L],
    )
    const coarse = await f.svc.setHistoryBuckets(L, 'number', { boundaries: [0, 50, 100] })
    expect(coarse.buckets).toMatchObject({ boundaries: [0, 50, 100], source: 'operator' })
    expect(coarse.rebucketed).toEqual(['2024-02-28', '2024-03-01'])
    expect(coarse.kept.map((k) => k.date)).toEqual(['2024-02-29'])
    expect(coarse.kept[0]?.reason).toMatch(/overlap/)
    const r = await rows(L)
    expect(r.filter((x) => x[0] === '2024-03-01')).toEqual([
      ['2024-03-01', '(-∞,0)', 0],
      ['2024-03-01', '[0,50)', 50],
      ['2024-03-01', '[50,100)', 50],
      ['2024-03-01', '[100,+∞)', 0],
    ]) // in numeric order (engine/read/value-order.ts inHistoryOrder)
    expect(r.filter((x) => x[0] === '2024-02-28').map((x) => [x[1], x[2]])).toEqual([
      ['(-∞,0)', 0],
      ['[0,50)', 3],
      ['[50,100)', 2],
      ['[100,+∞)', 0],
    ])
    expect(keysOf(r, '2024-02-29')).toEqual(['[0,49.5)', '[49.5,99]'])
    expect((await f.svc.historyBuckets(L, 'number')).otherDays).toEqual(['2024-02-29'])
    // Finer than what is stored: [0,50) can't be split into [0,25) and [25,50) without the values.
    const finer = await f.svc.setHistoryBuckets(L, 'number', { boundaries: [0, 25, 50, 100] })
    expect(finer.rebucketed).toEqual([])
    expect(finer.kept.map((k) => k.date)).toEqual(['2024-02-28', '2024-02-29', '2024-03-01'])
    // The next run counts in the operator's buckets.
    await run(L, '2024-03-02T12:00:00Z')
    expect(keysOf(await rows(L), '2024-03-02')).toEqual(['(-∞,0)', '[0,25)', '[25,50)', '[50,100)', '[100,+∞)'])
  })

  it('fixes a date label to one granularity; coarser re-counts, finer is kept', async () => {
    const L = label()
    source = values(`timestamptz '2024-01-01T12:00:00Z' + (uid || ' days')::interval`)
    await run(L, '2024-06-01T12:00:00Z', date)
    expect((await f.svc.historyBuckets(L, 'date')).buckets?.granularity).toBe('week')
    const week = keysOf(await rows(L), '2024-06-01')
    expect(week[0]).toBe('2024-01-01') // a Monday
    const month = await f.svc.setHistoryBuckets(L, 'date', { granularity: 'month' })
    expect(month.rebucketed).toEqual([])
    expect(month.kept.map((k) => k.date)).toEqual(['2024-06-01']) // weeks straddle months
    const day = await f.svc.setHistoryBuckets(L, 'date', { granularity: 'day' })
    expect(day.kept.map((k) => k.date)).toEqual(['2024-06-01'])
    await run(L, '2024-06-02T12:00:00Z', date)
    expect(keysOf(await rows(L), '2024-06-02')).toHaveLength(100)
    const back = await f.svc.setHistoryBuckets(L, 'date', { granularity: 'month' })
    expect(back.rebucketed).toEqual(['2024-06-02'])
    expect((await rows(L)).filter((x) => x[0] === '2024-06-02').map((x) => [x[1], x[2]])).toEqual([
      ['2024-01-01', 30],
      ['2024-02-01', 29],
      ['2024-03-01', 31],
      ['2024-04-01', 10],
    ])
  })

  it('refuses buckets that do not fit the label', async () => {
    const L = label()
    await expect(f.svc.setHistoryBuckets(L, 'number', { boundaries: [1, 1] })).rejects.toMatchObject({
      code: 'bad_request',
      path: '/boundaries/1',
    })
    await expect(f.svc.setHistoryBuckets(L, 'number', { granularity: 'day' })).rejects.toMatchObject({
      path: '/granularity',
    })
    await expect(f.svc.setHistoryBuckets(L, 'date', { boundaries: [1] })).rejects.toMatchObject({
      path: '/boundaries',
    })
    await expect(f.svc.setHistoryBuckets(L, 'string', { boundaries: [1] })).rejects.toMatchObject({
      code: 'bad_request',
    })
    expect((await f.svc.historyBuckets(L, 'number')).buckets).toBeNull()
  })
})
