import { sqlType } from '../storage/catalogue.ts'
import type { Emitter } from './emitter.ts'
import type { Literal, Predicate, Scope } from './ir.ts'

type PredicateOf<P, Op> = P extends { op: infer O } ? (Op extends O ? P : never) : never
type PredicateEmitters = { [Op in Predicate['op']]: (p: PredicateOf<Predicate, Op>, col: string, e: Emitter) => string }

/**
 * Strings order by code point (COLLATE "C") so results don't depend on the database's
 * locale: PGlite and a PostgreSQL created with en_US would otherwise disagree on `gt`.
 */
const ordered = (p: { col: { type: string } }, col: string) => (p.col.type === 'string' ? `${col} COLLATE "C"` : col)

const inList = (p: { col: Predicate['col']; values: readonly Literal[] }, col: string, e: Emitter): string => {
  if (p.values.length === 0) return 'false'
  // Zoneless dates each need the time-zone cast, so dates bind one parameter per value.
  if (p.col.type === 'date') return `${col} IN (${p.values.map((v) => e.literal(v)).join(', ')})`
  return `${col} = ANY(${e.params.add(
    p.values.map((v) => v.value),
    `${sqlType[p.col.type]}[]`,
  )})`
}

/**
 * Null semantics: a missing property/attribute never satisfies a positive op (eq, gt, in,
 * contains, between…), and each negative op is the exact complement of its positive one:
 * `neq x`, `not_in [...]` and `is_not_set` match users/events without the value. That is
 * what an operator means by "city is not Paris" — customers with no city aren't in Paris.
 * Positive ops may yield NULL for a missing value; callers treat NULL as false.
 */
const emitters: PredicateEmitters = {
  eq: (p, col, e) => `${col} = ${e.literal(p.value)}`,
  neq: (p, col, e) => `${col} IS DISTINCT FROM ${e.literal(p.value)}`,
  gt: (p, col, e) => `${ordered(p, col)} > ${e.literal(p.value)}`,
  gte: (p, col, e) => `${ordered(p, col)} >= ${e.literal(p.value)}`,
  lt: (p, col, e) => `${ordered(p, col)} < ${e.literal(p.value)}`,
  lte: (p, col, e) => `${ordered(p, col)} <= ${e.literal(p.value)}`,
  // strpos, not LIKE: `%` and `_` in the value are plain characters. Case-sensitive.
  contains: (p, col, e) => `strpos(${col}, ${e.literal(p.value)}) > 0`,
  in: (p, col, e) => inList(p, col, e),
  not_in: (p, col, e) => (p.values.length === 0 ? 'true' : `(${col} IS NULL OR NOT (${inList(p, col, e)}))`),
  between: (p, col, e) => `${ordered(p, col)} BETWEEN ${e.literal(p.lo)} AND ${e.literal(p.hi)}`,
  is_set: (_p, col) => `${col} IS NOT NULL`,
  is_not_set: (_p, col) => `${col} IS NULL`,
}

/** SQL for a predicate on the column expression `col` (e.g. `c5` or `u.c3`). */
export function predicateSql(e: Emitter, p: Predicate, col: string): string {
  return (emitters[p.op] as (p: Predicate, col: string, e: Emitter) => string)(p, col, e)
}

/** The predicate selecting a scope's rows in its event table, for every customer. */
export function scopeRows(e: Emitter, s: Scope): string {
  e.scopesRead.push(s)
  return [e.window(s.window), ...s.where.map((p) => `(${predicateSql(e, p, p.col.column)})`)].join(' AND ')
}

/** WHERE clause selecting a scope's rows in its event table, of the customers computed for. */
export function scopeWhere(e: Emitter, s: Scope): string {
  const only = e.onlyPredicate('uid')
  return only ? `${scopeRows(e, s)} AND ${only}` : scopeRows(e, s)
}
