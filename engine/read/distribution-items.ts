import type { DistributionItem } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { defaultBins, maxTop, type ResolvedQuery } from './distribution-query.ts'

/** An item before its proportion is known, with the key that orders it "by value". */
export interface Bucket {
  value: string | number | boolean
  from?: number | string
  to?: number | string
  users: number
  key: number | string | boolean
}

/**
 * `binRange`: number bins over this [lo, hi] instead of the table's own (a before/after
 * comparison puts both sides in the same bins); exact values are then never used.
 */
export interface ItemOptions {
  binRange?: { lo: number; hi: number }
}

/** Counts of a result table, the input of every distribution. */
export interface Counts {
  totalUsers: number
  coveredUsers: number
}

/**
 * The distribution of a result-shaped table `(uid int, value T)` (docs/semantics.md#distribution). `table` is an
 * engine-generated name (res_<n> or a preview temp table), never input.
 *
 * Buckets:
 * - string, boolean: per value; collection: per element, a user counted once per element.
 * - number: boundaries from the query → (-∞,b0) [b0,b1) … [bn,+∞), every interval listed;
 *   else bins from the query → that many equal-width intervals between min and max;
 *   else exact values when there are at most 50 distinct ones, otherwise 10 bins.
 *   Bins are "[a,b)" except the last, "[a,b]", which holds the maximum; empty intervals are
 *   listed with 0 users so charts keep their axis.
 * - date: per day/week (ISO, Monday)/month start in the workspace time zone, as YYYY-MM-DD,
 *   with from (inclusive) and to (exclusive) dates.
 * Sorting by users breaks ties by value ascending, so the order is total and stable.
 */
export async function distributionItems(
  db: SqlExecutor,
  table: string,
  dataType: DataType,
  q: ResolvedQuery,
  tz: string,
  counts: Counts,
  opts: ItemOptions = {},
): Promise<DistributionItem[]> {
  const buckets = await bucketsOf(db, table, dataType, q, tz, opts)
  return buckets.map((b) => {
    const item: DistributionItem = {
      value: b.value,
      users: b.users,
      proportion: counts.totalUsers > 0 ? b.users / counts.totalUsers : 0,
    }
    if (b.from !== undefined) item.from = b.from
    if (b.to !== undefined) item.to = b.to
    return item
  })
}

/**
 * The grouped statement `(v text, users int, f text, t text)` of a text-keyed bucket space
 * (string values, collection elements, date buckets at the query's granularity), with its
 * parameters; null for booleans and numbers, whose few buckets are sorted in JS.
 */
export function groupedTextSql(
  table: string,
  dataType: DataType,
  granularity: ResolvedQuery['granularity'],
  tz: string,
): { sql: string; params: unknown[] } | null {
  switch (dataType) {
    case 'string':
      return {
        sql: `SELECT value AS v, count(*)::int AS users, NULL::text AS f, NULL::text AS t FROM ${table} GROUP BY value`,
        params: [],
      }
    case 'collection':
      return {
        sql: `SELECT e AS v, count(DISTINCT uid)::int AS users, NULL::text AS f, NULL::text AS t FROM ${table} CROSS JOIN LATERAL unnest(value) AS e GROUP BY e`,
        params: [],
      }
    case 'date':
      return {
        sql: `SELECT to_char(b, 'YYYY-MM-DD') AS v, count(*)::int AS users, to_char(b, 'YYYY-MM-DD') AS f,
                to_char(b + ('1 ' || $1::text)::interval, 'YYYY-MM-DD') AS t
           FROM (SELECT date_trunc($1::text, value AT TIME ZONE $2::text) AS b FROM ${table}) s GROUP BY b`,
        params: [granularity, tz],
      }
    default:
      return null
  }
}

async function bucketsOf(
  db: SqlExecutor,
  table: string,
  dataType: DataType,
  q: ResolvedQuery,
  tz: string,
  opts: ItemOptions,
): Promise<Bucket[]> {
  const grouped = groupedTextSql(table, dataType, q.granularity, tz)
  if (grouped) return textBuckets(db, grouped.sql, grouped.params, q)
  if (dataType === 'boolean') {
    const r = await db.query<{ v: boolean; users: number }>(
      `SELECT value AS v, count(*)::int AS users FROM ${table} GROUP BY value`,
    )
    return sortAndTop(
      r.rows.map((x) => ({ value: x.v, users: x.users, key: x.v })),
      q,
    )
  }
  return sortAndTop(await numberBuckets(db, table, q, opts.binRange), q)
}

/** Text-keyed buckets are unbounded in number, so the database orders and cuts them. */
async function textBuckets(db: SqlExecutor, grouped: string, params: unknown[], q: ResolvedQuery): Promise<Bucket[]> {
  const dir = q.order === 'asc' ? 'ASC' : 'DESC'
  // COLLATE "C": byte (code point) order, identical on every server whatever its locale.
  const order = q.sort === 'users' ? `users ${dir}, v COLLATE "C" ASC` : `v COLLATE "C" ${dir}`
  const limit = Number.isFinite(q.top) ? q.top : null
  const r = await db.query<{ v: string; users: number; f: string | null; t: string | null }>(
    `SELECT v, users, f, t FROM (${grouped}) g ORDER BY ${order} LIMIT $${params.length + 1}`,
    [...params, limit],
  )
  return r.rows.map((x) => ({
    value: x.v,
    users: x.users,
    key: x.v,
    ...(x.f !== null ? { from: x.f } : {}),
    ...(x.t !== null ? { to: x.t } : {}),
  }))
}

function compareKeys(a: Bucket['key'], b: Bucket['key']): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  const x = String(a),
    y = String(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Orders number/boolean buckets as the query asks (ties by value) and keeps its top N. */
export function sortAndTop<B extends Bucket>(buckets: B[], q: Pick<ResolvedQuery, 'sort' | 'order' | 'top'>): B[] {
  const sign = q.order === 'asc' ? 1 : -1
  const sorted = [...buckets].sort((a, b) =>
    q.sort === 'users' ? sign * (a.users - b.users) || compareKeys(a.key, b.key) : sign * compareKeys(a.key, b.key),
  )
  return Number.isFinite(q.top) ? sorted.slice(0, q.top) : sorted
}

/** Rounds interval edges so 0.1 + 0.2 style noise doesn't leak into labels. */
const tidy = (x: number) => Number(x.toPrecision(12))

export async function numberBuckets(
  db: SqlExecutor,
  table: string,
  q: ResolvedQuery,
  range: ItemOptions['binRange'],
): Promise<Bucket[]> {
  if (q.boundaries) return boundaryBuckets(db, table, q.boundaries)
  if (range) return binBuckets(db, table, range.lo, range.hi, q.bins ?? defaultBins)
  const s = await db.query<{ n: number; lo: number | null; hi: number | null }>(
    `SELECT count(DISTINCT value)::int AS n, min(value) AS lo, max(value) AS hi FROM ${table}`,
  )
  const stats = s.rows[0]
  if (!stats || stats.lo === null || stats.hi === null) return []
  if (q.bins === undefined && stats.n <= maxTop) {
    const r = await db.query<{ v: number; users: number }>(
      `SELECT value AS v, count(*)::int AS users FROM ${table} GROUP BY value`,
    )
    return r.rows.map((x) => ({ value: Number(x.v), users: x.users, key: Number(x.v) }))
  }
  return binBuckets(db, table, Number(stats.lo), Number(stats.hi), q.bins ?? defaultBins)
}

/**
 * The 1-based bin of `value` among `bins` equal-width bins over [$1, $2] ($3 = bins), as binBuckets
 * counts it. A range so wide that bins × (hi − lo) passes the largest double (values near ±1e308)
 * is binned over halves, as PostgreSQL 16's width_bucket does itself: PostgreSQL 15's multiplies
 * first and overflows to INT_MIN, and `hi − lo` itself is an overflow error.
 */
export const binIndexSql = (value: string) =>
  `CASE WHEN NOT $2::float8 > $1::float8 THEN 1
        WHEN $2::float8 / 2 - $1::float8 / 2 < 8.98e307 / $3::int THEN LEAST(width_bucket(${value}, $1::float8, $2::float8, $3::int), $3::int)
        ELSE LEAST(floor($3::int * ((${value} / 2 - $1::float8 / 2) / ($2::float8 / 2 - $1::float8 / 2)))::int + 1, $3::int) END`

/** The intervals of `bins` equal-width bins over [lo, hi] ("[a,b)", the last "[a,b]"); one when lo = hi. */
export function binIntervals(lo: number, hi: number, bins: number): Array<{ value: string; from: number; to: number }> {
  const n = hi > lo ? bins : 1
  const width = (hi - lo) / n
  // A range wider than the largest double (values near ±1e308) overflows hi − lo to Infinity, and
  // the edges read "[Infinity,Infinity)": they are then weighted means of lo and hi instead.
  const edge = Number.isFinite(width) ? (i: number) => lo + i * width : (i: number) => lo * ((n - i) / n) + hi * (i / n)
  return Array.from({ length: n }, (_, i) => {
    const from = tidy(edge(i))
    const last = i === n - 1
    const to = last ? hi : tidy(edge(i + 1))
    return { value: `[${from},${to}${last ? ']' : ')'}`, from, to }
  })
}

async function binBuckets(db: SqlExecutor, table: string, lo: number, hi: number, bins: number): Promise<Bucket[]> {
  const n = hi > lo ? bins : 1
  const r = await db.query<{ b: number; users: number }>(
    `SELECT ${binIndexSql('value')} AS b, count(*)::int AS users FROM ${table} GROUP BY 1`,
    [lo, hi, n],
  )
  const users = new Map(r.rows.map((x) => [Number(x.b), x.users]))
  return binIntervals(lo, hi, bins).map((b, i) => ({ ...b, users: users.get(i + 1) ?? 0, key: i }))
}

/** The intervals at query boundaries: (-∞,b0) [b0,b1) … [bn,+∞); index i is `width_bucket(value, bounds)` = i. */
export function boundaryIntervals(bounds: number[]): Array<{ value: string; from?: number; to?: number }> {
  return Array.from({ length: bounds.length + 1 }, (_, i) => {
    const from = i > 0 ? bounds[i - 1] : undefined
    const to = i < bounds.length ? bounds[i] : undefined
    const value = from === undefined ? `(-∞,${to})` : to === undefined ? `[${from},+∞)` : `[${from},${to})`
    return { value, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }
  })
}

async function boundaryBuckets(db: SqlExecutor, table: string, bounds: number[]): Promise<Bucket[]> {
  const r = await db.query<{ b: number; users: number }>(
    `SELECT width_bucket(value, $1::float8[]) AS b, count(*)::int AS users FROM ${table} GROUP BY 1`,
    [bounds],
  )
  const users = new Map(r.rows.map((x) => [Number(x.b), x.users]))
  return boundaryIntervals(bounds).map((b, i) => ({ ...b, users: users.get(i) ?? 0, key: i }))
}
