import type { Comparison, Definition, Distribution, DistributionQuery, Transition, TransitionValue } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { parseAsOf } from '../calc/runs.ts'
import { Deadline, isStatementTimeout, timeoutError } from '../calc/timeout.ts'
import { coveredFilter, noValuesSql } from '../calc/value-types.ts'
import type { CompileFn } from '../calc/execute-run.ts'
import {
  binIndexSql,
  binIntervals,
  boundaryIntervals,
  distributionItems,
  type ItemOptions,
} from './distribution-items.ts'
import { defaultBins, maxTop, resolveQuery, type ResolvedQuery } from './distribution-query.ts'
import { loadLabelState, type LabelState } from './label-state.ts'
import { countUsers } from '../storage/user-count.ts'

/** Carries the result out of a transaction that must roll back. */
class Rollback {
  constructor(readonly value: Comparison) {}
}

/** How one side's values become transition keys: SQL giving a text key per row, and the key back to a value. */
interface Keying {
  sql: string
  params: unknown[]
  value: (key: string) => TransitionValue
  items: ItemOptions
}

/** Numbers in shared buckets: the query's boundaries, else exact values (≤ 50 distinct on both sides), else bins over both sides' range. */
type NumberBuckets =
  | { kind: 'boundaries'; bounds: number[] }
  | { kind: 'exact' }
  | { kind: 'bins'; lo: number; hi: number; bins: number }

async function numberBuckets(tx: SqlExecutor, tables: string[], q: ResolvedQuery): Promise<NumberBuckets> {
  if (q.boundaries) return { kind: 'boundaries', bounds: q.boundaries }
  const union = tables.map((t) => `SELECT value FROM ${t}`).join(' UNION ALL ')
  const r = await tx.query<{ n: number; lo: number | null; hi: number | null }>(
    `SELECT count(DISTINCT value)::int AS n, min(value) AS lo, max(value) AS hi FROM (${union}) u`,
  )
  const s = r.rows[0]
  if (!s || s.lo === null || s.hi === null || (q.bins === undefined && s.n <= maxTop)) return { kind: 'exact' }
  return { kind: 'bins', lo: Number(s.lo), hi: Number(s.hi), bins: q.bins ?? defaultBins }
}

/**
 * The key of a value in the bucket the distribution shows it in: text as is, booleans,
 * numbers per exact value or interval, dates per day/week/month in the zone, collections as
 * their sorted elements (a set, docs/model.md#label-fields).
 */
function keying(dataType: DataType, q: ResolvedQuery, tz: string, nb: NumberBuckets | null): Keying {
  switch (dataType) {
    case 'string':
      return { sql: 'value', params: [], value: (k) => k, items: {} }
    case 'boolean':
      return { sql: 'value::text', params: [], value: (k) => k === 'true', items: {} }
    case 'date':
      return {
        sql: `to_char(date_trunc($1::text, value AT TIME ZONE $2::text), 'YYYY-MM-DD')`,
        params: [q.granularity, tz],
        value: (k) => k,
        items: {},
      }
    case 'collection':
      return {
        sql: `to_jsonb(ARRAY(SELECT e FROM unnest(value) AS e ORDER BY e COLLATE "C"))::text`,
        params: [],
        value: (k) => JSON.parse(k) as string[],
        items: {},
      }
    case 'number': {
      const b = nb ?? { kind: 'exact' }
      if (b.kind === 'exact') return { sql: 'value::text', params: [], value: (k) => Number(k), items: {} }
      if (b.kind === 'boundaries') {
        const labels = boundaryIntervals(b.bounds).map((x) => x.value)
        return {
          sql: `width_bucket(value, $1::float8[])::text`,
          params: [b.bounds],
          value: (k) => labels[Number(k)] ?? k,
          items: {},
        }
      }
      const labels = binIntervals(b.lo, b.hi, b.bins).map((x) => x.value)
      const n = b.hi > b.lo ? b.bins : 1
      return {
        sql: `(${binIndexSql('value')})::text`,
        params: [b.lo, b.hi, n],
        value: (k) => labels[Number(k) - 1] ?? k,
        items: { binRange: { lo: b.lo, hi: b.hi } },
      }
    }
  }
}

/** Renumbers `$n` placeholders of a fragment by `offset` (two keyed fragments share one statement). */
const shift = (sql: string, offset: number) => sql.replace(/\$(\d+)/g, (_m, d: string) => `$${Number(d) + offset}`)

/**
 * Before/after of a rule change, exact, on the full data: evaluates `def` as of `asOf` (default
 * now) with the same compiled SQL as a run into a temporary table, and joins it per user to
 * the label's current result table. Nothing is stored (the transaction always rolls back);
 * the pointer to the current results is held FOR SHARE, so a run finishing meanwhile waits.
 * Numbers use the same buckets on both sides. An import rule has no formula: its draft is the
 * current values (a recalculation keeps them).
 */
export async function compareDefinition(
  db: SqlExecutor,
  labelId: string,
  def: Definition,
  opts: { asOf?: string; tz: string; timeoutMs?: number; query?: DistributionQuery; maxTransitions?: number },
  compile: CompileFn,
): Promise<Comparison> {
  const q = resolveQuery(opts.query)
  const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : new Date()
  const max = opts.maxTransitions ?? 200
  const source = def.rule.method === 'import' ? null : await compile(def, { db, asOf, tz: opts.tz })
  const deadline = new Deadline(opts.timeoutMs)
  try {
    await db.transaction(async (outer) => {
      const tx = deadline.bound(outer)
      const state = await loadLabelState(tx, labelId, true)
      const draftSource =
        source ??
        (state && state.dataType === def.dataType
          ? { sql: `SELECT uid, value FROM ${state.table}`, params: [] }
          : { sql: noValuesSql(def.dataType), params: [] })
      await tx.query(
        `CREATE TEMP TABLE compare_draft ON COMMIT DROP AS SELECT uid, value FROM (${draftSource.sql}) AS src WHERE ${coveredFilter(def.dataType)}`,
        draftSource.params,
      )
      deadline.check()
      const c = await tx.query<{ covered: number }>(`SELECT count(*)::int AS covered FROM compare_draft`)
      const totalUsers = await countUsers(tx)
      const draftCounts = { totalUsers, coveredUsers: Number(c.rows[0]?.covered ?? 0) }

      const bothNumbers = def.dataType === 'number' && state?.dataType === 'number'
      const shared = bothNumbers ? await numberBuckets(tx, [state.table, 'compare_draft'], q) : null
      const draftKeys = keying(
        def.dataType,
        q,
        opts.tz,
        def.dataType === 'number' ? (shared ?? (await numberBuckets(tx, ['compare_draft'], q))) : null,
      )
      const currentKeys = state
        ? keying(
            state.dataType,
            q,
            state.tz,
            state.dataType === 'number' ? (shared ?? (await numberBuckets(tx, [state.table], q))) : null,
          )
        : null

      const draft: Distribution = {
        labelId: null,
        runId: null,
        asOf: asOf.toISOString(),
        ...draftCounts,
        items: await distributionItems(tx, 'compare_draft', def.dataType, q, opts.tz, draftCounts, draftKeys.items),
      }
      const current = await currentDistribution(tx, labelId, state, q, currentKeys?.items ?? {})
      deadline.check()

      const moves = await transitions(tx, state, currentKeys, draftKeys, totalUsers, max)
      deadline.check()
      throw new Rollback({ labelId, current, draft, ...moves })
    })
  } catch (e) {
    if (e instanceof Rollback) return e.value
    if (isStatementTimeout(e) && opts.timeoutMs !== undefined) throw timeoutError(opts.timeoutMs)
    throw e
  }
  throw new Error('unreachable: compare transaction committed')
}

async function currentDistribution(
  tx: SqlExecutor,
  labelId: string,
  s: LabelState | null,
  q: ResolvedQuery,
  items: ItemOptions,
): Promise<Distribution> {
  if (!s) return { labelId, runId: null, asOf: null as unknown as string, totalUsers: 0, coveredUsers: 0, items: [] }
  return {
    labelId,
    runId: s.runId,
    asOf: s.asOf,
    totalUsers: s.totalUsers,
    coveredUsers: s.coveredUsers,
    items: await distributionItems(tx, s.table, s.dataType, q, s.tz, s, items),
  }
}

/**
 * Users per (current key → draft key) over every user: a FULL JOIN of both sides by uid,
 * plus the users covered by neither as "no value → no value", so the users add up to the total.
 */
async function transitions(
  tx: SqlExecutor,
  s: LabelState | null,
  cur: Keying | null,
  draft: Keying,
  totalUsers: number,
  max: number,
): Promise<Pick<Comparison, 'transitions' | 'otherTransitions' | 'changedUsers' | 'unchangedUsers'>> {
  const curSql =
    s && cur ? `SELECT uid, ${cur.sql} AS k FROM ${s.table}` : 'SELECT NULL::int AS uid, NULL::text AS k WHERE false'
  const curParams = s && cur ? cur.params : []
  const draftSql = `SELECT uid, ${shift(draft.sql, curParams.length)} AS k FROM compare_draft`
  await tx.query(
    `CREATE TEMP TABLE compare_moves ON COMMIT DROP AS
     SELECT c.k AS f, d.k AS t, count(*)::int AS users
       FROM (${curSql}) c FULL JOIN (${draftSql}) d ON c.uid = d.uid
      GROUP BY 1, 2`,
    [...curParams, ...draft.params],
  )
  const sums = await tx.query<{ moved: number | null; covered: number | null; rows: number }>(
    `SELECT sum(users) FILTER (WHERE f IS DISTINCT FROM t)::int AS moved, sum(users)::int AS covered, count(*)::int AS rows FROM compare_moves`,
  )
  const covered = Number(sums.rows[0]?.covered ?? 0)
  const neither = Math.max(0, totalUsers - covered)
  const rows = await tx.query<{ f: string | null; t: string | null; users: number }>(
    `SELECT f, t, users FROM (SELECT f, t, users FROM compare_moves UNION ALL SELECT NULL, NULL, $1::int WHERE $1::int > 0) m
      ORDER BY users DESC, f COLLATE "C" ASC NULLS FIRST, t COLLATE "C" ASC NULLS FIRST LIMIT $2`,
    [neither, max],
  )
  const list: Transition[] = rows.rows.map((r) => ({
    from: r.f === null ? null : cur ? cur.value(r.f) : r.f,
    to: r.t === null ? null : draft.value(r.t),
    users: Number(r.users),
  }))
  const allRows = Number(sums.rows[0]?.rows ?? 0) + (neither > 0 ? 1 : 0)
  const listed = list.reduce((a, t) => a + t.users, 0)
  const moved = Number(sums.rows[0]?.moved ?? 0)
  return {
    transitions: list,
    otherTransitions: { count: allRows - list.length, users: covered + neither - listed },
    changedUsers: moved,
    unchangedUsers: covered + neither - moved,
  }
}
