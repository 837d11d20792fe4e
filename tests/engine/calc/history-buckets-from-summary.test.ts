import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { numberStatsFromTable, numberStatsOf } from '../../../engine/calc/history-buckets.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * A number label's first history buckets are fixed from the run summary's distinct values
 * (numberStatsOf) instead of a `percentile_cont` over the result table (numberStatsFromTable).
 * The two must agree to the last bit, or a label's buckets would depend on which path fixed them:
 * here on random multisets of values (ties, one value, negatives, fractions, large and tiny
 * magnitudes), each loaded into a table and read both ways on the same engine.
 */

/** Values as a summary keeps them: distinct, ascending, with their customers. */
function grouped(values: number[]): Array<[number, number]> {
  const m = new Map<number, number>()
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1)
  return [...m].sort((a, b) => a[0] - b[0])
}

const value = fc.oneof(
  fc.integer({ min: -50, max: 50 }),
  fc.integer({ min: 0, max: 1_000_000_000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
  fc.integer({ min: 0, max: 2000 }).map((k) => k / 10),
  fc.integer({ min: 1, max: 1000 }).map((k) => k * 1e-9),
)
/** Few distinct values held by many customers, or many distinct ones. */
const multiset = fc.oneof(
  fc.array(value, { minLength: 1, maxLength: 400 }),
  fc
    .tuple(
      fc.array(value, { minLength: 1, maxLength: 5 }),
      fc.array(fc.nat({ max: 4 }), { minLength: 1, maxLength: 600 }),
    )
    .map(([vs, picks]) => picks.map((i) => vs[i % vs.length] as number)),
)

describeEachDb('number history buckets fixed from the summary', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await db.exec('CREATE TABLE q_values (uid int NOT NULL, value double precision NOT NULL)')
  }, 60_000)
  afterAll(() => db?.dispose())

  /** Both readings of one multiset of values. */
  async function both(values: number[]) {
    await db.exec('TRUNCATE q_values')
    await db.query('INSERT INTO q_values SELECT i, v FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, i)', [values])
    return { fromSummary: numberStatsOf(grouped(values)), fromTable: await numberStatsFromTable(db, 'q_values') }
  }

  it('percentile_cont, whole numbers and the smallest values: the same from the distinct values as from the table', async () => {
    await fc.assert(
      fc.asyncProperty(multiset, async (values) => {
        const { fromSummary, fromTable } = await both(values)
        expect(fromTable).not.toBeNull()
        expect(fromSummary).toEqual(fromTable)
      }),
      { numRuns: 60, seed: 20261205 },
    )
  }, 120_000)

  it('fixed cases: one value, two values, a tie across the median, interpolated quantiles', async () => {
    for (const values of [[7], [1, 2], [0, 0, 0, 10], [0.1, 0.2, 0.3], [-3, 5, 5, 5, 100.5], [1e12, 1e12 + 1]]) {
      const { fromSummary, fromTable } = await both(values)
      expect(fromSummary).toEqual(fromTable)
    }
    // Interpolation between rows: the quantiles of [1, 2] run 1, 1.01, …, 2.
    expect((await both([1, 2])).fromSummary?.q.slice(0, 3)).toEqual([1, 1.01, 1.02])
    expect(numberStatsOf([])).toBeNull()
  })
})
