import { resultSqlType } from '../calc/value-types.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import { lookUp, type Emitter } from './emitter.ts'
import type { RuleNode, Scope } from './ir.ts'
import { ruleSql } from './emit-rule.ts'
import { predicateSql } from './emit-predicate.ts'
import { bounds } from './window-edges.ts'

/**
 * Where an incremental run can update a stored value from the rows that entered and left the
 * rule's window instead of reading the window again (issue 10, "incremental windows"; path (c) of
 * `npm run bench -- incremental`). It holds for a customer whose only changes since the stored run
 * read the data are events appended at or after that run's asOf (calc/incremental.ts collects the
 * others apart, from the change log's `since`): their stored value is exact for the window at the
 * stored asOf, and the rows of the new window differ from it only by the window's edges.
 *  - metric count, any window: new = stored + rows that entered − rows that left.
 *  - first/last, over all time or a date range, with asOf not earlier than the stored one: no row
 *    leaves, and every row that entered is later than every row of the stored window, so the last
 *    is the last that entered if any (else the stored one), and the first is the stored one if any
 *    (else the first that entered).
 *  - first/last over `lastDays`, asOf not earlier: the rows that left are the stored window's
 *    oldest. The last is the last that entered if any; else the stored one while a row of the
 *    stored window is still in the new one (then the stored last, the latest of them, is too: one
 *    look-up by the customer's key), else none. The first of a customer none of whose rows left is
 *    the stored one if any (else the first that entered); of one with rows that left, the first of
 *    the new window, looked up by the customer's key.
 * Other methods and measures read the window again: their values can't be updated from the edges
 * (a sum of doubles would drift from a recount in its last bits; distinct, days, avg, preference
 * and the conditions of custom and distribution labels need more than the stored value).
 */
export interface DeltaContext {
  /** The asOf of the run whose results are stored. */
  readonly baseAsOf: Date
  /** The result table holding them (`res_<n>`). */
  readonly stored: string
  /** The customers to compute (every customer the run writes): calc/incremental.ts AFFECTED_TABLE. */
  readonly affected: string
  /** Of those, the ones to compute from their events (the rest from their stored value): RECOMPUTE_TABLE. */
  readonly recompute: string
}

const name = /^[a-z_][a-z0-9_]*$/

/** Whether a rule has a form computed from its stored values and its window's edges between the two asOfs. */
export function hasDeltaForm(n: RuleNode, baseAsOf: Date, asOf: Date): boolean {
  if (n.method === 'metric') return n.measure.agg === 'count'
  if (n.method === 'first_last') return asOf.getTime() >= baseAsOf.getTime()
  return false
}

/**
 * The rule's statement for the customers of `d.affected`, as `(uid, value)` rows: those of
 * `d.recompute` by the label's own statement restricted to them (the emitter's `only`), the others
 * from their stored value and the rows of the window's edges. Null when the rule has no such form
 * (hasDeltaForm). The emitter must have been made with `only = d.recompute`.
 */
export function deltaRuleSql(e: Emitter, n: RuleNode, d: DeltaContext, dataType: DataType): string | null {
  for (const t of [d.stored, d.affected, d.recompute]) if (!name.test(t)) throw new Error(`unexpected table ${t}`)
  if (n.method !== 'metric' && n.method !== 'first_last') return null
  if (!hasDeltaForm(n, d.baseAsOf, e.asOfDate)) return null
  const full = ruleSql(e, n)
  const edges = edgeRows(e, n.scope, d)
  const kept = `NOT EXISTS (SELECT 1 FROM ${d.recompute} x WHERE x.uid = a.uid)`
  // Each customer's stored value, looked up by key (emitter.ts lookUp).
  const stored = `LEFT JOIN ${lookUp(d.stored, 'value', 'a.uid')} r ON true`
  let fromEdges: string
  if (n.method === 'metric') {
    // Rows in the new window count +1, rows in the old one −1 (the edges are in exactly one).
    const diff = `SELECT uid, (count(*) FILTER (WHERE ${edges.inNew}) - count(*) FILTER (WHERE NOT (${edges.inNew})))::double precision AS d
      FROM ${n.scope.event.table} WHERE ${edges.where} GROUP BY uid`
    fromEdges = `SELECT a.uid, coalesce(r.value, 0) + coalesce(g.d, 0) AS value
      FROM ${d.affected} a CROSS JOIN ${lookUp('users', 'uid', 'a.uid')} u ${stored}
      LEFT JOIN (${diff}) g ON g.uid = a.uid WHERE ${kept}`
  } else {
    // Rows that entered are all later than the stored window's (hasDeltaForm); rows leave a
    // `lastDays` window only, from its oldest end.
    const t = resultSqlType[dataType]
    const table = n.scope.event.table
    const col = n.property === '$time' ? 'time' : n.property.column
    const known = n.property === '$time' ? '' : ` AND ${col} IS NOT NULL`
    const dir = n.which === 'last' ? 'DESC' : 'ASC'
    const entered =
      n.property === '$time'
        ? `SELECT uid, ${n.which === 'last' ? 'max' : 'min'}(time) AS value FROM ${table} WHERE ${edges.where} AND ${edges.inNew} GROUP BY uid`
        : `SELECT DISTINCT ON (uid) uid, ${col} AS value FROM ${table} WHERE ${edges.where} AND ${edges.inNew}${known}
            ORDER BY uid, time ${dir}, seq ${dir}`
    // The customer's rows of the scope in [from, to), looked up by its key (the uid index), in a
    // scalar subquery: an EXISTS there was turned into a hashed subplan in the run's statement,
    // a read of the whole window (115 of the statement's 204 ms, a 30-day last value at 1M events).
    const own = (from: string, to: string) =>
      `FROM ${table} x WHERE x.uid = a.uid AND ${edges.filters.map((f) => `${f} AND `).join('')}x.time >= ${from} AND x.time < ${to}${known}`
    let value: string
    // A first over `lastDays` also needs the customers some of whose rows left (`l`).
    let leftRows = ''
    if (n.scope.window.kind !== 'last_days')
      value = n.which === 'last' ? `coalesce(g.value::${t}, r.value)` : `coalesce(r.value, g.value::${t})`
    else if (n.which === 'last')
      value = `CASE WHEN g.uid IS NOT NULL THEN g.value::${t}
        WHEN r.value IS NOT NULL AND (SELECT true ${own(edges.now.start, edges.before.end)} LIMIT 1) THEN r.value END`
    else {
      leftRows = ` LEFT JOIN (SELECT DISTINCT uid FROM ${table} WHERE ${edges.where} AND NOT (${edges.inNew})) l ON l.uid = a.uid`
      value = `CASE WHEN l.uid IS NULL THEN coalesce(r.value, g.value::${t})
        ELSE (SELECT ${col} ${own(edges.now.start, edges.now.end)} ORDER BY x.time, x.seq LIMIT 1)::${t} END`
    }
    fromEdges = `SELECT a.uid, ${value} AS value FROM ${d.affected} a ${stored}
      LEFT JOIN (${entered}) g ON g.uid = a.uid${leftRows} WHERE ${kept}`
  }
  return `SELECT uid, value FROM (${full}) f UNION ALL ${fromEdges}`
}

/**
 * The rows of a scope's event table in one of its windows at the two asOfs and not the other
 * (compiler/window-edges.ts), with its filters, for the customers of `d.affected`; and whether a
 * row is in the new window.
 */
function edgeRows(
  e: Emitter,
  s: Scope,
  d: DeltaContext,
): {
  where: string
  inNew: string
  filters: string[]
  now: { start: string; end: string }
  before: { start: string; end: string }
} {
  const asOf = e.asOfDate
  const [early, late] = d.baseAsOf.getTime() <= asOf.getTime() ? [d.baseAsOf, asOf] : [asOf, d.baseAsOf]
  const tz = () => e.tz()
  const i0 = bounds(s.window, early, e.params, tz)
  const i1 = bounds(s.window, late, e.params, tz)
  const [now, before] = late === asOf ? [i1, i0] : [i0, i1]
  const filters = s.where.map((p) => `(${predicateSql(e, p, p.col.column)})`)
  const where = [
    `((time >= ${i0.start} AND time < least(${i1.start}, ${i0.end})) OR (time >= greatest(${i1.start}, ${i0.end}) AND time < ${i1.end}))`,
    ...filters,
    `uid IN (SELECT uid FROM ${d.affected})`,
  ].join(' AND ')
  return { where, inNew: `time >= ${now.start} AND time < ${now.end}`, filters, now, before }
}
