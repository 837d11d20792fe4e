import { keyInterval } from './history-keys.ts'
import { tickIncrement } from 'd3'
import type { HistoryBuckets, HistoryBucketsChange, HistoryBucketsInput } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'
import { maxTop, boundaries as parseBoundaries, oneOf } from '../read/distribution-query.ts'
import { boundaryIntervals } from '../read/distribution-items.ts'
import { compareCodePoints } from '../read/value-order.ts'

/**
 * Fixed history buckets (docs/semantics.md#history): a number label's history is counted in the
 * same intervals every day, `(-∞,b0) [b0,b1) … [bn,+∞)`, and a date label's per the same
 * granularity, so lines can be followed across days. They are fixed from the first result with
 * values (boundaries at its quantiles, rounded to two significant digits, so a skewed result is
 * spread over several intervals) and stored per label in `history_buckets`; an operator
 * may set them (setHistoryBuckets), which re-buckets the stored days where the data allows.
 *
 * Every history row records the bucketing it was written with (`history.bucketing`: `b:<b0,…>`
 * for numbers, `g:<granularity>` for dates; NULL for rows older than fixed buckets), so a day
 * left in other buckets is known later (`otherDays`).
 */

export type Granularity = 'day' | 'week' | 'month'

interface BucketsRow {
  label_id: string
  data_type: string
  boundaries: number[] | string | null
  granularity: Granularity | null
  source: HistoryBuckets['source']
  updated_at: Date | string
}

/** Intervals of a number label's history at most (as a distribution's boundaries). */
const targetBuckets = 10

export const bucketedTypes: readonly DataType[] = ['number', 'date']

/** The spec string rows are tagged with. */
export function bucketingOf(b: Pick<HistoryBuckets, 'boundaries' | 'granularity'>): string {
  return b.boundaries ? `b:${b.boundaries.join(',')}` : `g:${b.granularity ?? 'day'}`
}

function toBuckets(r: BucketsRow): HistoryBuckets {
  const raw = typeof r.boundaries === 'string' ? (JSON.parse(r.boundaries) as number[]) : r.boundaries
  const at = r.updated_at instanceof Date ? r.updated_at : new Date(r.updated_at)
  return {
    labelId: r.label_id,
    dataType: r.data_type as HistoryBuckets['dataType'],
    ...(raw ? { boundaries: raw.map(Number) } : {}),
    ...(r.granularity ? { granularity: r.granularity } : {}),
    source: r.source,
    updatedAt: at.toISOString(),
  }
}

/** The label's fixed buckets for this data type, or null (none yet, or fixed for another type). */
export async function loadBuckets(
  db: SqlExecutor,
  labelId: string,
  dataType?: DataType,
): Promise<HistoryBuckets | null> {
  const r = await db.query<BucketsRow>(
    `SELECT label_id, data_type, to_json(boundaries)::text AS boundaries, granularity, source, updated_at
       FROM history_buckets WHERE label_id = $1`,
    [labelId],
  )
  const row = r.rows[0]
  if (!row || (dataType !== undefined && row.data_type !== dataType)) return null
  return toBuckets(row)
}

async function storeBuckets(
  tx: SqlExecutor,
  labelId: string,
  dataType: DataType,
  spec: { boundaries?: number[]; granularity?: Granularity },
  source: HistoryBuckets['source'],
): Promise<HistoryBuckets> {
  const r = await tx.query<BucketsRow>(
    `INSERT INTO history_buckets (label_id, data_type, boundaries, granularity, source, updated_at)
     VALUES ($1, $2, $3::float8[], $4, $5, clock_timestamp())
     ON CONFLICT (label_id) DO UPDATE SET data_type = EXCLUDED.data_type, boundaries = EXCLUDED.boundaries,
       granularity = EXCLUDED.granularity, source = EXCLUDED.source, updated_at = EXCLUDED.updated_at
     RETURNING label_id, data_type, to_json(boundaries)::text AS boundaries, granularity, source, updated_at`,
    [labelId, dataType, spec.boundaries ?? null, spec.granularity ?? null, source],
  )
  return toBuckets(r.rows[0] as BucketsRow)
}

/**
 * Nice boundaries over [lo, hi] (d3's tick steps: 1, 2 or 5 × 10^k), about 10 intervals, from a
 * multiple of the step at or below lo to the first multiple above hi, so the first result fills
 * the closed intervals and the open-ended first and last ones catch what drifts outside later.
 * Whole-number results get a step of at least 1.
 */
export function niceBoundaries(lo: number, hi: number, integers: boolean): number[] {
  let a = lo
  let b = hi
  if (b <= a) {
    const pad = integers ? Math.max(1, Math.ceil(Math.abs(a) / 10)) : Math.abs(a) / 10 || 1
    a -= pad
    b += pad
  }
  const inc = tickIncrement(a, b, targetBuckets)
  // tickIncrement: a positive step, or the negative inverse of a step below 1 (1/−inc).
  let step = inc > 0 ? inc : 1 / -inc
  if (integers) step = Math.max(1, step)
  const tidy = (x: number) => Number(x.toPrecision(12))
  const first = Math.floor(a / step)
  const out: number[] = []
  for (let k = first; out.length === 0 || (out[out.length - 1] as number) <= hi; k++) out.push(tidy(k * step))
  return out
}

/** The fractions at which a first result's quantiles are read (percentiles). */
const quantileFractions = Array.from({ length: 101 }, (_, i) => i / 100)

/**
 * Boundaries from a first result's quantiles `q` (ascending, q[0] the minimum, the last the
 * maximum): about 10 intervals holding similar numbers of customers, each boundary the quantile
 * that splits what is left above the previous one evenly, rounded to two significant digits
 * (whole numbers for whole-number results); the first at or below the minimum and the last above
 * the maximum, as niceBoundaries. A value held by many customers gets an interval of its own
 * rather than a boundary twice. Without spread (one value) it is niceBoundaries. With at most
 * 11 distinct values (`few`, ascending, when the result has no more) each gets an interval of its
 * own: niceBoundaries' when they part them, else the values themselves.
 */
export function quantileBoundaries(q: readonly number[], integers: boolean, few?: readonly number[]): number[] {
  const n = q.length - 1
  const lo = q[0] as number
  const hi = q[n] as number
  if (n < 1 || !(hi > lo)) return niceBoundaries(lo, hi, integers)
  if (few && few.length <= targetBuckets + 1) {
    const nice = niceBoundaries(lo, hi, integers)
    const slot = (x: number) => indexOf(nice, x)
    if (few.every((x, i) => i === 0 || slot(x) !== slot(few[i - 1] as number))) return nice
    return [...few, Number((hi + (nice[1] as number) - (nice[0] as number)).toPrecision(12))]
  }
  /** x rounded to a step of two significant digits (0: of the range). */
  const step = (x: number) => Math.max(integers ? 1 : 0, 10 ** (Math.floor(Math.log10(Math.abs(x) || hi - lo)) - 1))
  const tidy = (x: number) => Number(x.toPrecision(12))
  const round = (x: number, how: 'floor' | 'round' | 'ceil') => tidy(Math[how](x / step(x)) * step(x))
  /** The quantile at fractional position pos (linear between the given ones), and back. */
  const at = (pos: number) => {
    const i = Math.min(n - 1, Math.floor(pos))
    return (q[i] as number) + ((q[i + 1] as number) - (q[i] as number)) * (pos - i)
  }
  const position = (x: number) => {
    const i = q.findIndex((v) => v >= x)
    if (i <= 0) return i
    const a = q[i - 1] as number
    return i - 1 + (x - a) / ((q[i] as number) - a)
  }
  const out = [round(lo, 'floor')]
  let from = 0
  for (let k = targetBuckets; k > 1; k--) {
    const x = at(from + (n - from) / k)
    const last = out[out.length - 1] as number
    const above = q.find((v) => v > x) ?? hi // the next value up: a tie at x stays below the boundary
    const b = [round(x, 'round'), round(x, 'ceil'), round(above, 'floor'), round(above, 'ceil')].find((c) => c > last)
    if (b === undefined || b > hi) break
    out.push(b)
    from = position(b)
    if (from < 0 || from >= n) break
  }
  const last = out[out.length - 1] as number
  let top = round(hi, 'ceil')
  if (top <= hi) top = tidy(hi + step(hi))
  if (top > last) out.push(top)
  return out
}

/** A granularity that gives a readable number of buckets over a first result spanning `days`. */
function niceGranularity(days: number): Granularity {
  return days <= 92 ? 'day' : days <= 731 ? 'week' : 'month'
}

/** What a number label's first buckets are fixed from (quantileBoundaries' arguments). */
interface NumberStats {
  /** The values at quantileFractions, as `percentile_cont` gives them. */
  q: number[]
  /** Every value is a whole number. */
  ints: boolean
  /** The 12 smallest distinct values, ascending. */
  few: number[]
  /** How many distinct values there are. */
  distinct: number
}

/**
 * NumberStats from every distinct value with its customers, ascending (a run summary's `numbers`),
 * without reading the result table: `percentile_cont` as PostgreSQL computes it
 * (orderedsetaggs.c: rows first = floor(p × (n − 1)) and second = ceil(…) of the sorted values, 0-based,
 * and first + (p × (n − 1) − first) × (second's value − first's) when they differ), in the same
 * double arithmetic, so the boundaries are the ones the statement over the table gives. Null
 * without values.
 */
export function numberStatsOf(numbers: ReadonlyArray<readonly [number, number]>): NumberStats | null {
  // ends[i]: the rows up to and including value i's, so value i holds rows ends[i−1] … ends[i] − 1.
  const ends: number[] = []
  for (const [, u] of numbers) ends.push((ends[ends.length - 1] ?? 0) + u)
  const n = ends[ends.length - 1] ?? 0
  if (n === 0) return null
  /** The value at a 0-based row of the sorted values (binary search of ends). */
  const row = (k: number): number => {
    let lo = 0
    let hi = ends.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((ends[mid] as number) > k) hi = mid
      else lo = mid + 1
    }
    return numbers[lo]?.[0] as number
  }
  const q = quantileFractions.map((p) => {
    const pos = p * (n - 1)
    const first = Math.floor(pos)
    const second = Math.ceil(pos)
    const lo = row(first)
    if (second === first) return lo
    const hi = row(second)
    return lo + (pos - first) * (hi - lo)
  })
  return {
    q,
    ints: numbers.every(([v]) => v === Math.trunc(v)),
    few: numbers.slice(0, 12).map(([v]) => v),
    distinct: numbers.filter(([, u]) => u > 0).length,
  }
}

/** NumberStats of a result table, in one statement. Null without values. */
export async function numberStatsFromTable(tx: SqlExecutor, table: string): Promise<NumberStats | null> {
  // Materialised: on Citus the result table is distributed, and the ordered-set aggregate then
  // runs on the coordinator over the values the CTE gathered.
  const r = await tx.query<{ q: string | null; ints: boolean | null; few: string | null; distinct: number }>(
    `WITH v AS MATERIALIZED (SELECT value::float8 AS value FROM ${table})
     SELECT to_json(percentile_cont($1::float8[]) WITHIN GROUP (ORDER BY value))::text AS q,
            bool_and(value = trunc(value)) AS ints,
            (SELECT to_json(array_agg(value))::text FROM (SELECT DISTINCT value FROM v ORDER BY 1 LIMIT 12) d) AS few,
            count(DISTINCT value)::int AS distinct
       FROM v`,
    [quantileFractions],
  )
  const s = r.rows[0]
  if (!s || s.q === null) return null
  const nums = (json: string | null) => (json === null ? [] : (JSON.parse(json) as Array<number | string>).map(Number))
  return { q: nums(s.q), ints: s.ints === true, few: nums(s.few), distinct: Number(s.distinct) }
}

/**
 * The label's buckets for the results in `table`: the stored ones, else fixed now from these
 * results (null when they hold no value yet, or the type has no buckets). Caller's transaction.
 * `numbers`: every distinct value of a number table with its customers, ascending, when the run's
 * summary kept them (result-summary.ts): the buckets are then fixed from those, not from the
 * table (a sort of every value: 35–52 ms of a metric label's first run at 100k customers).
 */
export async function ensureBuckets(
  tx: SqlExecutor,
  labelId: string,
  table: string,
  dataType: DataType,
  numbers?: ReadonlyArray<readonly [number, number]> | null,
): Promise<(HistoryBuckets & { rewroteDays?: true }) | null> {
  if (!bucketedTypes.includes(dataType)) return null
  const stored = await loadBuckets(tx, labelId, dataType)
  if (stored) return stored
  if (dataType === 'number') {
    const s = numbers ? numberStatsOf(numbers) : await numberStatsFromTable(tx, table)
    // Per exact value while the results have at most 50 distinct values, as the distribution
    // shows them (docs/semantics.md#history); intervals only past that.
    if (!s || s.distinct <= maxTop) return null
    const boundaries = quantileBoundaries(s.q, s.ints, s.few)
    const buckets = await storeBuckets(tx, labelId, dataType, { boundaries }, 'first_run')
    // The days kept per exact value until now are counted again in the intervals, so every day
    // of the label's history has the same values to follow.
    const tag = bucketingOf(buckets)
    let rewrote = false
    for (const [date, d] of await storedDays(tx, labelId)) {
      if (d.bucketing === tag) continue
      const items = rebucketNumbers(d.items, boundaries)
      if (!items) continue
      await writeHistoryDay(tx, labelId, date, { ...d, bucketing: tag, items })
      rewrote = true
    }
    return rewrote ? { ...buckets, rewroteDays: true } : buckets
  }
  const r = await tx.query<{ days: number | null }>(
    `SELECT extract(epoch FROM max(value) - min(value)) / 86400 AS days FROM ${table}`,
  )
  const days = r.rows[0]?.days
  if (days === null || days === undefined) return null
  return storeBuckets(tx, labelId, dataType, { granularity: niceGranularity(Number(days)) }, 'first_run')
}

/** Checks an operator's buckets for a label of this type. */
export function resolveBucketsInput(
  dataType: DataType,
  input: HistoryBucketsInput,
): { boundaries?: number[]; granularity?: Granularity } {
  const bad = (path: string, message: string) => new LabelsError('bad_request', message, path)
  if (dataType === 'number') {
    if (input.granularity !== undefined)
      throw bad('/granularity', 'granularity applies to date labels; give boundaries')
    if (input.boundaries === undefined) throw bad('/boundaries', 'a number label needs boundaries')
    return { boundaries: parseBoundaries(input.boundaries) }
  }
  if (dataType === 'date') {
    if (input.boundaries !== undefined) throw bad('/boundaries', 'boundaries apply to number labels; give granularity')
    return { granularity: oneOf(input.granularity, '/granularity', ['day', 'week', 'month'] as const) }
  }
  throw bad('/', `a ${dataType} label's history is per value; only number and date labels have buckets`)
}

/** Index of the interval (-∞,b0) [b0,b1) … [bn,+∞) holding x: the boundaries ≤ x (`width_bucket`). */
const indexOf = (bounds: number[], x: number, strict = false) => bounds.filter((b) => (strict ? b < x : b <= x)).length

/** A day's [key, users] re-counted in new boundaries, or null when an old interval spans several new ones. */
function rebucketNumbers(items: Array<[string, number]>, bounds: number[]): Array<[string, number]> | null {
  const users = new Array<number>(bounds.length + 1).fill(0)
  for (const [key, n] of items) {
    if (n === 0) continue
    const iv = keyInterval(key)
    if (!iv) return null
    const i = indexOf(bounds, iv.lo)
    const j = iv.hiClosed ? indexOf(bounds, iv.hi) : indexOf(bounds, iv.hi, true)
    if (i !== j) return null
    users[i] = (users[i] as number) + n
  }
  return boundaryIntervals(bounds).map((b, i) => [b.value, users[i] as number])
}

const dayMs = 86_400_000
const parseDay = (s: string) => Date.parse(`${s}T00:00:00Z`)
const fmtDay = (ms: number) => new Date(ms).toISOString().slice(0, 10)

/** Start (UTC-midnight ms of the calendar date) of the bucket holding a calendar date. */
function truncDay(ms: number, g: Granularity): number {
  const d = new Date(ms)
  if (g === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  if (g === 'week') return ms - ((d.getUTCDay() + 6) % 7) * dayMs
  return ms
}

function nextBucket(ms: number, g: Granularity): number {
  if (g === 'day') return ms + dayMs
  if (g === 'week') return ms + 7 * dayMs
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

/** A date day re-counted at a new granularity, or null when an old bucket spans several new ones. */
function rebucketDates(
  items: Array<[string, number]>,
  from: Granularity,
  to: Granularity,
): Array<[string, number]> | null {
  const users = new Map<string, number>()
  for (const [key, n] of items) {
    const start = parseDay(key)
    if (!/^\d{4}-\d{2}-\d{2}$/.test(key) || Number.isNaN(start)) return null
    const a = truncDay(start, to)
    if (a !== truncDay(nextBucket(start, from) - dayMs, to)) return null
    const k = fmtDay(a)
    users.set(k, (users.get(k) ?? 0) + n)
  }
  return [...users].sort((x, y) => compareCodePoints(x[0], y[0]))
}

interface DayRows {
  totalUsers: number
  runId: string
  bucketing: string | null
  items: Array<[string, number]>
}

/** The label's stored days, by date. */
async function storedDays(db: SqlExecutor, labelId: string): Promise<Map<string, DayRows>> {
  const r = await db.query<{
    date: string
    value: string
    users: number
    total_users: number
    run_id: string
    bucketing: string | null
  }>(
    `SELECT to_char(date, 'YYYY-MM-DD') AS date, value, users, total_users, run_id, bucketing FROM history
      WHERE label_id = $1 ORDER BY date, value COLLATE "C"`,
    [labelId],
  )
  const days = new Map<string, DayRows>()
  for (const x of r.rows) {
    let d = days.get(x.date)
    if (!d) days.set(x.date, (d = { totalUsers: x.total_users, runId: x.run_id, bucketing: x.bucketing, items: [] }))
    if (d.bucketing !== x.bucketing) d.bucketing = '?'
    d.items.push([x.value, x.users])
  }
  return days
}

/** Replaces one history day's rows (caller's transaction). */
export async function writeHistoryDay(
  tx: SqlExecutor,
  labelId: string,
  day: string,
  d: { totalUsers: number; runId: string; bucketing: string | null; items: Array<[string, number]> },
): Promise<void> {
  // One statement (README "Fewer round trips per run"): the day's rows deleted, then the new ones
  // inserted. The INSERT reads the DELETE's count first, so the DELETE runs to its end before any
  // row is inserted; a key check ignores rows this transaction deleted.
  await tx.query(
    `WITH gone AS (DELETE FROM history WHERE label_id = $1 AND date = $2::date RETURNING 1)
     INSERT INTO history (label_id, date, value, users, total_users, run_id, bucketing)
     SELECT $1, $2::date, v, u, $3, $4, $7 FROM unnest($5::text[], $6::int[]) AS t(v, u)
      WHERE (SELECT count(*) FROM gone) >= 0`,
    [labelId, day, d.totalUsers, d.runId, d.items.map((i) => i[0]), d.items.map((i) => i[1]), d.bucketing],
  )
}

/** Why a stored day can't be re-counted in the new buckets. */
function keptReason(dataType: DataType): string {
  return dataType === 'number'
    ? 'its stored intervals overlap several of the new ones (neither exact values nor a coarsening)'
    : 'its stored buckets overlap several of the new ones (a finer granularity needs the values)'
}

/**
 * Sets a label's buckets (operator) and re-counts every stored day that can be: number days
 * whose stored keys are exact values or intervals each inside one new interval, date days whose
 * buckets each fall in one new bucket. Other days are kept as they were and listed in `kept`.
 */
export async function setHistoryBuckets(
  db: SqlExecutor,
  labelId: string,
  dataType: DataType,
  input: HistoryBucketsInput,
): Promise<HistoryBucketsChange> {
  const spec = resolveBucketsInput(dataType, input)
  return db.transaction(async (tx) => {
    const buckets = await storeBuckets(tx, labelId, dataType, spec, 'operator')
    const tag = bucketingOf(buckets)
    const rebucketed: string[] = []
    const kept: HistoryBucketsChange['kept'] = []
    for (const [date, d] of await storedDays(tx, labelId)) {
      if (d.bucketing === tag) continue
      const items =
        dataType === 'number'
          ? rebucketNumbers(d.items, spec.boundaries as number[])
          : rebucketDates(d.items, granularityOf(d.bucketing), spec.granularity as Granularity)
      if (!items) {
        kept.push({ date, reason: keptReason(dataType) })
        continue
      }
      await writeHistoryDay(tx, labelId, date, { ...d, bucketing: tag, items })
      rebucketed.push(date)
    }
    return { buckets, rebucketed, kept }
  })
}

/** The granularity a date day was written with (rows older than fixed buckets: per day). */
function granularityOf(bucketing: string | null): Granularity {
  return bucketing === 'g:week' ? 'week' : bucketing === 'g:month' ? 'month' : 'day'
}

/** Days of the label's history not in its current buckets (kept when they changed), oldest first. */
export async function otherDays(db: SqlExecutor, labelId: string, b: HistoryBuckets | null): Promise<string[]> {
  if (!b) return []
  const r = await db.query<{ date: string }>(
    `SELECT DISTINCT to_char(date, 'YYYY-MM-DD') AS date FROM history
      WHERE label_id = $1 AND bucketing IS DISTINCT FROM $2 ORDER BY 1`,
    [labelId, bucketingOf(b)],
  )
  return r.rows.map((x) => x.date)
}

/** Removes a label's buckets (the label was deleted). */
export async function deleteBuckets(tx: SqlExecutor, labelId: string): Promise<void> {
  await tx.query(`DELETE FROM history_buckets WHERE label_id = $1`, [labelId])
}
