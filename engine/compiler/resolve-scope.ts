import { invalid } from '../../shared/errors.ts'
import { ruleLimits as limits } from '../../shared/limits.ts'
import { opTypes, type FilterOp } from '../../shared/operators.ts'
import type { Filter, Measure, Window } from '../../shared/schemas/rule.ts'
import type { Catalogue, ColumnRef, EventInfo } from '../storage/catalogue.ts'
import type { Literal, MeasureNode, Predicate, Scope, WindowNode } from './ir.ts'
import { literal, SUPPORTED_YEARS } from './literals.ts'

/** Looks up an event by name; unknown → 422 at `path`. */
export function resolveEvent(cat: Catalogue, name: string, path: string): EventInfo {
  const ev = cat.events.get(name)
  if (!ev) throw invalid(`unknown event ${JSON.stringify(name)}`, path)
  return ev
}

/** Looks up a property of an event; unknown → 422 at `path`. */
export function resolveProperty(ev: EventInfo, name: string, path: string): ColumnRef {
  const col = ev.properties.get(name)
  if (!col) throw invalid(`event ${JSON.stringify(ev.name)} has no property ${JSON.stringify(name)}`, path)
  return col
}

/**
 * Checks op/value against the column's type. `base` is the path of the filter object
 * (its `value` is at `${base}/value`), `what` names the column in messages.
 */
export function resolvePredicate(col: ColumnRef, op: FilterOp, value: unknown, base: string, what: string): Predicate {
  if (!opTypes[op].includes(col.type)) {
    throw invalid(`operator ${op} does not apply to ${what} of type ${col.type}`, `${base}/op`)
  }
  const vpath = `${base}/value`
  const scalar = (v: unknown, path: string): Literal => {
    if (Array.isArray(v)) throw invalid(`operator ${op} takes a single value, got a list`, path)
    if (v === undefined) throw invalid(`operator ${op} needs a value`, path)
    return literal(v, col.type, path, what)
  }
  const list = (min: number, max: number): Literal[] => {
    if (!Array.isArray(value)) throw invalid(`operator ${op} takes a list of values`, vpath)
    if (value.length < min || value.length > max) {
      throw invalid(
        min === max
          ? `operator ${op} takes exactly ${min} values, got ${value.length}`
          : `operator ${op} takes at most ${max} values, got ${value.length}`,
        vpath,
      )
    }
    return value.map((v, i) => scalar(v, `${vpath}/${i}`))
  }
  switch (op) {
    case 'eq':
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
    case 'contains':
      return { op, col, value: scalar(value, vpath) }
    case 'in':
    case 'not_in':
      return { op, col, values: list(0, limits.listValues) }
    case 'between': {
      const [lo, hi] = list(2, 2) as [Literal, Literal]
      return { op, col, lo, hi }
    }
    case 'is_set':
    case 'is_not_set':
      // A value sent along (e.g. left over from editing) is ignored: these ops take none.
      return { op, col }
    default: {
      const never: never = op
      throw invalid(`unknown operator ${String(never)}`, `${base}/op`)
    }
  }
}

function resolveFilter(ev: EventInfo, f: Filter, base: string): Predicate {
  const col = resolveProperty(ev, f.property, `${base}/property`)
  return resolvePredicate(col, f.op, f.value, base, `property ${JSON.stringify(f.property)}`)
}

function resolveWindow(w: Window | undefined, path: string): WindowNode {
  if (w === undefined) return { kind: 'all' }
  if ('lastDays' in w) return { kind: 'last_days', days: w.lastDays }
  for (const k of ['from', 'to'] as const) {
    const d = new Date(`${w[k]}T00:00:00Z`)
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== w[k])
      throw invalid(`not a calendar date: ${w[k]}`, `${path}/${k}`)
    if (d.getUTCFullYear() < 1)
      throw invalid(`${w[k]} is outside the supported dates (${SUPPORTED_YEARS})`, `${path}/${k}`)
  }
  if (w.from >= w.to)
    throw invalid(`window "from" (${w.from}) must be before "to" (${w.to}); "to" is exclusive`, `${path}/to`)
  return { kind: 'range', from: w.from, to: w.to }
}

/** Resolves event + where + window; `base` is the path of the object holding them. */
export function resolveScope(
  cat: Catalogue,
  s: { event: string; where?: Filter[]; window?: Window },
  base: string,
): Scope {
  const event = resolveEvent(cat, s.event, `${base}/event`)
  const where = (s.where ?? []).map((f, i) => resolveFilter(event, f, `${base}/where/${i}`))
  return { event, where, window: resolveWindow(s.window, `${base}/window`) }
}

/** Resolves a measure; sum/avg/min/max need a number property. `path` is the measure object's path. */
export function resolveMeasure(ev: EventInfo, m: Measure | undefined, path: string): MeasureNode {
  if (m === undefined) return { agg: 'count' }
  if (!('property' in m)) return { agg: m.agg }
  const col = resolveProperty(ev, m.property, `${path}/property`)
  if (m.agg !== 'distinct' && col.type !== 'number') {
    throw invalid(`${m.agg} needs a number property; ${JSON.stringify(m.property)} is ${col.type}`, `${path}/property`)
  }
  return { agg: m.agg, col }
}
