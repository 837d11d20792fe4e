import type { Emitter } from './emitter.ts'
import { additive, type Comparison, type CondNode } from './ir.ts'
import { predicateSql } from './emit-predicate.ts'

type CondEmitters = { [K in CondNode['kind']]: (n: Extract<CondNode, { kind: K }>, e: Emitter) => string }

const cmpOps = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=', neq: '<>' } as const

function compareSql(e: Emitter, expr: string, c: Comparison): string {
  if (c.op === 'between')
    return `${expr} BETWEEN ${e.params.add(c.lo, 'double precision')} AND ${e.params.add(c.hi, 'double precision')}`
  return `${expr} ${cmpOps[c.op]} ${e.params.add(c.value, 'double precision')}`
}

/**
 * Every condition compiles to a boolean that is never NULL: a leaf whose value is unknown
 * (missing attribute, avg/min/max without events) is false. So `not` is plain negation and
 * `not(avg > 5)` includes users who never purchased — what an operator means by it.
 */
const emitters: CondEmitters = {
  attribute: (n, e) => `COALESCE(${predicateSql(e, n.predicate, `u.${n.predicate.col.column}`)}, false)`,
  behaviour: (n, e) => {
    const { ref } = e.measureRef(n.scope, n.measure)
    if (additive[n.measure.agg]) return compareSql(e, `COALESCE(${ref}, 0)`, n.compare)
    return `COALESCE(${compareSql(e, ref, n.compare)}, false)`
  },
  all: (n, e) => `(${n.items.map((x) => conditionSql(e, x)).join(' AND ')})`,
  any: (n, e) => `(${n.items.map((x) => conditionSql(e, x)).join(' OR ')})`,
  not: (n, e) => `(NOT ${conditionSql(e, n.item)})`,
}

/** SQL boolean (never NULL) for a condition over `users u` joined to the scope CTEs. */
export function conditionSql(e: Emitter, n: CondNode): string {
  return (emitters[n.kind] as (n: CondNode, e: Emitter) => string)(n, e)
}
