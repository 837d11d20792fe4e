import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { distributionItems, groupedTextSql } from '../read/distribution-items.ts'
import type { ResolvedQuery } from '../read/distribution-query.ts'
import type { LabelState } from '../read/label-state.ts'
import { rankByValue } from '../read/value-order.ts'
import {
  defaultNumberBuckets,
  hasNonFinite,
  maxDistinctNumbers,
  maxGroups,
  onlyInDb,
  summaryHeader,
  type ResultSummary,
  type TextGroup,
} from '../read/result-summary.ts'
import { resultSqlType } from './value-types.ts'

/**
 * Summaries and history from the written difference (issue 10, "write only what changed"). A run
 * that writes its results in place (result-swap.ts applyChanges) keeps the rows it replaced or
 * deleted and the rows it wrote, customer by customer, in two temporary tables. The label's
 * distribution summary and the day's history snapshot are then the label's previous ones plus the
 * counts of the new rows minus those of the old rows, instead of a read of the whole result
 * table: every count involved is a count of result rows (per value, element, date bucket or
 * interval), which adds up customer by customer.
 *
 * Where the previous counts don't determine the new ones — a summary that kept only top lists
 * (more than maxGroups values) or no distinct numbers, a previous summary or history day of
 * another run, bucketing or time zone, a count that would go below zero — the caller counts the
 * whole table as before (null here). The tests compare both ways after every incremental run
 * (tests/engine/calc/incremental.test.ts) and each fallback (tests/engine/calc/result-delta.test.ts).
 */

/** A run's written difference: the run whose results it changed and the two tables `(uid, value)`. */
export interface ResultDelta {
  baseRunId: string
  /** The time zone of that run (date buckets depend on it). */
  baseTz: string
  /** The stored rows the run replaced or deleted. */
  old: string
  /** The rows the run inserted or replaced them with. */
  new: string
}

/**
 * The two temporary tables of a run's difference for the data type, emptied (caller's
 * transaction). One pair per connection and type, emptied at every commit, as the affected
 * customers' table (creating and dropping tables per run costs catalogue writes).
 */
export async function prepareDeltaTables(tx: SqlExecutor, dataType: DataType): Promise<{ old: string; new: string }> {
  const t = { old: `labels_delta_old_${dataType}`, new: `labels_delta_new_${dataType}` }
  // Empty unless an earlier statement of this transaction filled them; all four statements in one
  // round trip (README "Fewer round trips per run").
  await tx.exec(
    [t.old, t.new]
      .map(
        (name) =>
          `CREATE TEMP TABLE IF NOT EXISTS ${name} (uid int NOT NULL, value ${resultSqlType[dataType]} NOT NULL) ON COMMIT DELETE ROWS; DELETE FROM ${name}`,
      )
      .join('; '),
  )
  return t
}

/** One signed group of a text-keyed space: new rows' users minus old rows'. */
export interface TextDelta {
  v: string
  users: number
  f: string | null
  t: string | null
}

/**
 * A text space's groups after the difference (pure): every group of `prev` with its count moved,
 * groups that reach 0 dropped, new ones added; ranked by value (value-order.ts rankByValue) and listed by
 * users descending, then value, as result-summary.ts textSpace lists them. Null when the result
 * has more than `limit` groups (the space then keeps top lists, which need the table) or a count
 * would go below zero (the previous counts weren't of the rows replaced).
 */
export function mergeTextGroups(prev: TextGroup[], delta: TextDelta[], limit = maxGroups): TextGroup[] | null {
  const groups = new Map(prev.map((g) => [g.v, { ...g }]))
  for (const d of delta) {
    const g = groups.get(d.v)
    const u = (g?.u ?? 0) + d.users
    if (u < 0) return null
    if (u === 0) groups.delete(d.v)
    else if (g) g.u = u
    else groups.set(d.v, { v: d.v, u, ...(d.f !== null ? { f: d.f } : {}), ...(d.t !== null ? { t: d.t } : {}), r: 0 })
  }
  if (groups.size > limit) return null
  return rankByValue([...groups.values()]).sort((a, b) => b.u - a.u || a.r - b.r)
}

/**
 * Keyed counts after the difference (pure): `prev` with each delta added; keys that reach 0 are
 * dropped unless `keepZeros` (number history keeps every interval). Null when a count would go
 * below zero.
 */
export function mergeCounts<K>(
  prev: Array<[K, number]>,
  delta: Array<[K, number]>,
  keepZeros = false,
): Array<[K, number]> | null {
  const counts = new Map(prev)
  for (const [k, d] of delta) {
    const u = (counts.get(k) ?? 0) + d
    if (u < 0) return null
    if (u === 0 && !keepZeros) counts.delete(k)
    else counts.set(k, u)
  }
  return [...counts]
}

/** The signed groups of a text space over the difference (new rows +, old rows −), changed ones only. */
async function textDelta(
  tx: SqlExecutor,
  d: ResultDelta,
  dataType: DataType,
  g: ResolvedQuery['granularity'],
  tz: string,
): Promise<TextDelta[]> {
  const plus = groupedTextSql(d.new, dataType, g, tz)!
  const minus = groupedTextSql(d.old, dataType, g, tz)!
  // Both statements read the same parameters (granularity and zone for dates, none otherwise).
  const r = await tx.query<TextDelta>(
    `SELECT v, sum(users)::int AS users, min(f) AS f, min(t) AS t
       FROM (SELECT v, users, f, t FROM (${plus.sql}) a UNION ALL SELECT v, -users, f, t FROM (${minus.sql}) b) x
      GROUP BY v HAVING sum(users) <> 0`,
    plus.params,
  )
  return r.rows
}

/** Per value (numbers, booleans): new rows' users minus old rows', changed ones only. */
async function valueDelta<V>(tx: SqlExecutor, d: ResultDelta): Promise<Array<[V, number]>> {
  const r = await tx.query<{ v: V; u: number }>(
    `SELECT value AS v, sum(s)::int AS u
       FROM (SELECT value, 1 AS s FROM ${d.new} UNION ALL SELECT value, -1 FROM ${d.old}) x
      GROUP BY value HAVING sum(s) <> 0`,
  )
  return r.rows.map((x) => [x.v, x.u])
}

/** The label's summary of the run the difference was written over, if it is of the same type and zone. */
async function previousSummary(tx: SqlExecutor, s: LabelState, d: ResultDelta): Promise<ResultSummary | null> {
  const r = await tx.query<{ summary: ResultSummary | string }>(
    `SELECT summary FROM label_summary WHERE label_id = $1 AND run_id = $2`,
    [s.labelId, d.baseRunId],
  )
  const raw = r.rows[0]?.summary
  if (raw === undefined) return null
  const prev = typeof raw === 'string' ? (JSON.parse(raw) as ResultSummary) : raw
  if (prev.v !== 1 || prev.dbOnly || prev.dataType !== s.dataType || prev.tz !== s.tz) return null
  return prev
}

/**
 * The summary of the label's new results (result-summary.ts summariseResults) from its previous
 * summary and the difference; null when it has to be computed from the whole table.
 */
export async function summariseDelta(tx: SqlExecutor, s: LabelState, d: ResultDelta): Promise<ResultSummary | null> {
  const prev = await previousSummary(tx, s, d)
  if (!prev) return null
  const out = summaryHeader(s)
  switch (s.dataType) {
    case 'string':
    case 'collection':
    case 'date': {
      out.text = {}
      for (const g of s.dataType === 'date' ? (['day', 'week', 'month'] as const) : (['value'] as const)) {
        const all = prev.text?.[g]?.all
        if (!all) return null
        const merged = mergeTextGroups(all, await textDelta(tx, d, s.dataType, g === 'value' ? 'day' : g, s.tz))
        if (!merged) return null
        out.text[g] = { all: merged, lists: null }
      }
      break
    }
    case 'boolean': {
      const prevCounts = (prev.buckets ?? []).map((b) => [b.value as boolean, b.users] as [boolean, number])
      const merged = mergeCounts(prevCounts, await valueDelta<boolean>(tx, d))
      if (!merged) return null
      out.buckets = merged.map(([v, u]) => ({ value: v, users: u, key: v }))
      break
    }
    case 'number': {
      if (!prev.numbers) return null
      const delta = (await valueDelta<number | string>(tx, d)).map(([v, u]) => [Number(v), u] as [number, number])
      const merged = mergeCounts(prev.numbers, delta)
      if (!merged || merged.length > maxDistinctNumbers) return null
      if (merged.some(([v]) => !Number.isFinite(v))) return onlyInDb(out)
      merged.sort((a, b) => a[0] - b[0])
      out.numbers = merged
      out.buckets = await defaultNumberBuckets(tx, merged)
      out.numberMode = out.buckets.length === 0 ? 'empty' : out.buckets[0]!.from === undefined ? 'exact' : 'bins'
      break
    }
  }
  return hasNonFinite(out) ? onlyInDb(out) : out
}

/**
 * The history snapshot's items (history-snapshot.ts writeSnapshot) from the snapshot the run the
 * difference was written over stored, when it was stored in the same bucketing and time zone;
 * null otherwise.
 * Number and date labels need their fixed buckets (before them a day is keyed by the default
 * distribution, whose bins move with the values).
 */
export async function snapshotItemsDelta(
  tx: SqlExecutor,
  s: LabelState,
  d: ResultDelta,
  query: ResolvedQuery,
  bucketing: string | null,
): Promise<Array<[string, number]> | null> {
  if (d.baseTz !== s.tz || ((s.dataType === 'number' || s.dataType === 'date') && bucketing === null)) return null
  const base = await tx.query<{ value: string; users: number }>(
    `SELECT value, users FROM history WHERE label_id = $1 AND run_id = $2 AND bucketing IS NOT DISTINCT FROM $3`,
    [s.labelId, d.baseRunId, bucketing],
  )
  if (base.rows.length === 0) return null
  const counts = { totalUsers: 0, coveredUsers: 0 }
  const signed = (items: Awaited<ReturnType<typeof distributionItems>>, sign: number) =>
    items.map((i) => [String(i.value), sign * i.users] as [string, number])
  const delta = [
    ...signed(await distributionItems(tx, d.new, s.dataType, query, s.tz, counts), 1),
    ...signed(await distributionItems(tx, d.old, s.dataType, query, s.tz, counts), -1),
  ]
  // Number history lists every interval, 0 users included.
  return mergeCounts(
    base.rows.map((r) => [r.value, Number(r.users)] as [string, number]),
    delta,
    s.dataType === 'number',
  )
}
