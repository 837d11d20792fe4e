import { rankByValue } from './value-order.ts'
import type { Distribution, DistributionItem, DistributionQuery } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import {
  binIndexSql,
  binIntervals,
  boundaryIntervals,
  groupedTextSql,
  numberBuckets,
  sortAndTop,
  type Bucket,
} from './distribution-items.ts'
import { defaultBins, maxTop, resolveQuery, type ResolvedQuery } from './distribution-query.ts'
import type { LabelState } from './label-state.ts'

/** One text-keyed bucket: value, users, date interval (from/to), rank of the value in code-point order. */
export interface TextGroup {
  v: string
  u: number
  f?: string
  t?: string
  r: number
}

type TextOrder = 'users_desc' | 'users_asc' | 'value_asc' | 'value_desc'

/**
 * The buckets of one text-keyed space (string values, collection elements, date buckets at one
 * granularity): every group when there are at most `maxGroups`, else the first 50 (the longest
 * Top N) in each of the four orders a query can ask for, which answers every query exactly.
 */
export interface TextSpace {
  all: TextGroup[] | null
  lists: Record<TextOrder, TextGroup[]> | null
}

/**
 * What every distribution query of one run's results needs, computed when the run commits
 * (engine/calc/execute-run.ts, stored in `label_summary`) and kept by the server in memory, so
 * reads of results never touch the database (on PGlite a calculation holds its one connection).
 * Plain JSON: stored as jsonb, structured-clonable across the worker.
 */
export interface ResultSummary {
  v: 1
  labelId: string
  runId: string
  asOf: string
  tz: string
  dataType: DataType
  totalUsers: number
  coveredUsers: number
  /** string/collection: `value`; date: `day`, `week`, `month`. */
  text?: Partial<Record<'value' | ResolvedQuery['granularity'], TextSpace>>
  /** boolean: per value; number: the default buckets (exact values, or `defaultBins` bins). */
  buckets?: Bucket[]
  /** number: which default the buckets are. */
  numberMode?: 'empty' | 'exact' | 'bins'
  /** number: every distinct value with its users, ascending, when at most maxDistinctNumbers (custom boundaries are then answered too). */
  numbers?: Array<[number, number]> | null
  /** Only the database can answer (values JSON can't hold: NaN, ±Infinity). */
  dbOnly?: true
}

/** Groups kept whole per text space; beyond it the four top-50 lists. */
export const maxGroups = 2000
/** Distinct number values kept for boundary queries. */
export const maxDistinctNumbers = 10_000

const toGroup = (x: { v: string; users: number; f: string | null; t: string | null; r: number }): TextGroup => ({
  v: x.v,
  u: x.users,
  ...(x.f !== null ? { f: x.f } : {}),
  ...(x.t !== null ? { t: x.t } : {}),
  r: Number(x.r),
})

async function textSpace(db: SqlExecutor, grouped: { sql: string; params: unknown[] }): Promise<TextSpace> {
  type Row = { v: string; users: number; f: string | null; t: string | null; r: number }
  const n = grouped.params.length
  const all = await db.query<Row>(
    `SELECT v, users, f, t, row_number() OVER (ORDER BY v COLLATE "C") AS r FROM (${grouped.sql}) g ORDER BY users DESC, v COLLATE "C" ASC LIMIT $${n + 1}`,
    [...grouped.params, maxGroups + 1],
  )
  if (all.rows.length <= maxGroups) {
    // Ranked by value again where code-point order isn't the natural one (intervals, numbers),
    // and listed by users, then that rank, as a merged summary lists them (result-delta.ts).
    const groups = rankByValue(all.rows.map(toGroup)).sort((a, b) => b.u - a.u || a.r - b.r)
    return { all: groups, lists: null }
  }
  const list = async (order: string) =>
    (
      await db.query<Row>(`SELECT v, users, f, t, 0 AS r FROM (${grouped.sql}) g ORDER BY ${order} LIMIT $${n + 1}`, [
        ...grouped.params,
        maxTop,
      ])
    ).rows.map(toGroup)
  return {
    all: null,
    lists: {
      users_desc: all.rows.slice(0, maxTop).map(toGroup),
      users_asc: await list(`users ASC, v COLLATE "C" ASC`),
      value_asc: await list(`v COLLATE "C" ASC`),
      value_desc: await list(`v COLLATE "C" DESC`),
    },
  }
}

/** Computes the summary of a result table (inside the run's transaction, or over current results). */
export async function summariseResults(db: SqlExecutor, s: LabelState): Promise<ResultSummary> {
  const out = summaryHeader(s)
  switch (s.dataType) {
    case 'string':
    case 'collection':
      out.text = { value: await textSpace(db, groupedTextSql(s.table, s.dataType, 'day', s.tz)!) }
      break
    case 'date':
      out.text = {}
      for (const g of ['day', 'week', 'month'] as const)
        out.text[g] = await textSpace(db, groupedTextSql(s.table, 'date', g, s.tz)!)
      break
    case 'boolean': {
      const r = await db.query<{ v: boolean; users: number }>(
        `SELECT value AS v, count(*)::int AS users FROM ${s.table} GROUP BY value`,
      )
      out.buckets = r.rows.map((x) => ({ value: x.v, users: x.users, key: x.v }))
      break
    }
    case 'number': {
      // The distinct values are grouped only when the summary keeps them (at most
      // maxDistinctNumbers): grouping 100k doubles to find that there are too many was the
      // costliest statement of a sum's or an average's summary.
      const st = await db.query<{ n: number; lo: number | null; hi: number | null }>(
        `SELECT count(DISTINCT value)::int AS n, min(value) AS lo, max(value) AS hi FROM ${s.table}`,
      )
      const { n, lo, hi } = st.rows[0] ?? { n: 0, lo: null, hi: null }
      // The default buckets (distribution-items.ts numberBuckets): from the distinct values when
      // kept (binned by the same SQL expression over them, not over the table's rows), else bins
      // over the table.
      if (Number(n) <= maxDistinctNumbers) {
        const r = await db.query<{ v: number; u: number }>(
          `SELECT value AS v, count(*)::int AS u FROM ${s.table} GROUP BY value ORDER BY value`,
        )
        out.numbers = r.rows.map((x) => [Number(x.v), x.u])
        out.buckets = await defaultNumberBuckets(db, out.numbers)
      } else {
        // More than maxDistinctNumbers values: min and max are there.
        out.numbers = null
        out.buckets = await numberBuckets(db, s.table, resolveQuery({}), { lo: Number(lo), hi: Number(hi) })
      }
      out.numberMode = out.buckets.length === 0 ? 'empty' : out.buckets[0]!.from === undefined ? 'exact' : 'bins'
      break
    }
  }
  return hasNonFinite(out) ? onlyInDb(out) : out
}

/**
 * A number distribution's default buckets (distribution-items.ts numberBuckets without a query)
 * from every distinct value with its users, ascending: the exact values when at most maxTop, else
 * defaultBins bins over [min, max], binned by the same SQL expression on the same server.
 */
export async function defaultNumberBuckets(tx: SqlExecutor, numbers: Array<[number, number]>): Promise<Bucket[]> {
  if (numbers.length === 0) return []
  if (numbers.length <= maxTop) return numbers.map(([v, u]) => ({ value: v, users: u, key: v }))
  const lo = numbers[0]![0]
  const hi = numbers[numbers.length - 1]![0]
  const n = hi > lo ? defaultBins : 1
  const r = await tx.query<{ b: number; users: number }>(
    `SELECT ${binIndexSql('v')} AS b, sum(u)::int AS users FROM unnest($4::float8[], $5::int[]) AS x(v, u) GROUP BY 1`,
    [lo, hi, n, numbers.map((x) => x[0]), numbers.map((x) => x[1])],
  )
  const users = new Map(r.rows.map((x) => [Number(x.b), x.users]))
  return binIntervals(lo, hi, defaultBins).map((b, i) => ({ ...b, users: users.get(i + 1) ?? 0, key: i }))
}

/** The summary of results with values JSON can't hold (NaN, ±Infinity): only the database answers. */
export function onlyInDb(s: ResultSummary): ResultSummary {
  return { ...summaryHeader(s), dbOnly: true }
}

/** A summary with the run's identity and counts and nothing counted yet. */
export function summaryHeader(s: Omit<LabelState, 'table'>): ResultSummary {
  return {
    v: 1,
    labelId: s.labelId,
    runId: s.runId,
    asOf: s.asOf,
    tz: s.tz,
    dataType: s.dataType,
    totalUsers: s.totalUsers,
    coveredUsers: s.coveredUsers,
  }
}

export function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v)
  if (v && typeof v === 'object') return Object.values(v).some(hasNonFinite)
  return false
}

function textItems(space: TextSpace, q: ResolvedQuery): TextGroup[] {
  if (space.all) {
    const dir = q.order === 'asc' ? 1 : -1
    const sorted = [...space.all].sort(
      q.sort === 'users' ? (a, b) => dir * (a.u - b.u) || a.r - b.r : (a, b) => dir * (a.r - b.r),
    )
    return sorted.slice(0, q.top)
  }
  const lists = space.lists!
  const which: TextOrder =
    q.sort === 'users'
      ? q.order === 'asc'
        ? 'users_asc'
        : 'users_desc'
      : q.order === 'asc'
        ? 'value_asc'
        : 'value_desc'
  return lists[which].slice(0, q.top)
}

/** Number buckets for the query from the summary, or null when only the database can answer (other bins, boundaries over many values). */
function numberItems(s: ResultSummary, q: ResolvedQuery): Bucket[] | null {
  if (q.boundaries) {
    if (!s.numbers) return null
    const bounds = q.boundaries
    const users = new Map<number, number>()
    for (const [v, u] of s.numbers) {
      // width_bucket(value, thresholds): how many thresholds are ≤ value.
      let i = 0
      while (i < bounds.length && (bounds[i] as number) <= v) i++
      users.set(i, (users.get(i) ?? 0) + u)
    }
    return boundaryIntervals(bounds).map((b, i) => ({ ...b, users: users.get(i) ?? 0, key: i }))
  }
  if (s.numberMode === 'empty') return []
  if (q.bins !== undefined && !(s.numberMode === 'bins' && q.bins === defaultBins)) return null
  return s.buckets ?? []
}

/**
 * The distribution a query asks for, from a run's summary: the same items, in the same order,
 * as engine/read/distribution-items.ts computes from the result table; null when the summary
 * can't answer the query (the caller reads the database then). Throws bad_request for a bad
 * query, as the database read does.
 */
export function distributionFromSummary(s: ResultSummary, query: DistributionQuery | undefined): Distribution | null {
  const buckets = summaryBuckets(s, resolveQuery(query))
  if (!buckets) return null
  const items = buckets.map((b) => {
    const item: DistributionItem = {
      value: b.value,
      users: b.users,
      proportion: s.totalUsers > 0 ? b.users / s.totalUsers : 0,
    }
    if (b.from !== undefined) item.from = b.from
    if (b.to !== undefined) item.to = b.to
    return item
  })
  return {
    labelId: s.labelId,
    runId: s.runId,
    asOf: s.asOf,
    totalUsers: s.totalUsers,
    coveredUsers: s.coveredUsers,
    items,
  }
}

/**
 * The buckets of a resolved query from a run's summary (distributionFromSummary's, without the
 * proportions); null when the summary can't answer it. A query for more than the top 50 (a history
 * snapshot's, which keeps every value) is answered only from a text space that holds every group.
 */
export function summaryBuckets(
  s: ResultSummary,
  q: ResolvedQuery,
): Array<{ value: string | number | boolean; users: number; from?: number | string; to?: number | string }> | null {
  if (s.dbOnly) return null
  if (s.text) {
    const space = s.text[s.dataType === 'date' ? q.granularity : 'value']
    if (!space || (!space.all && q.top > maxTop)) return null
    return textItems(space, q).map((g) => ({
      value: g.v,
      users: g.u,
      ...(g.f !== undefined ? { from: g.f } : {}),
      ...(g.t !== undefined ? { to: g.t } : {}),
    }))
  }
  if (s.dataType === 'boolean') return sortAndTop(s.buckets ?? [], q)
  const b = numberItems(s, q)
  return b ? sortAndTop(b, q) : null
}
