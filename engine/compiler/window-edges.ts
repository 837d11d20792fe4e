import type { ScopeRead } from './compile-rule.ts'
import { Emitter } from './emitter.ts'
import { predicateSql } from './emit-predicate.ts'
import type { Predicate, WindowNode } from './ir.ts'
import { lastDaysStart } from './literals.ts'
import type { Params } from './params.ts'

/** A window's rows at an asOf: `time >= start AND time < end`, as SQL expressions (as Emitter.window reads them). */
export function bounds(w: WindowNode, asOf: Date, p: Params, tz: () => string): { start: string; end: string } {
  const at = p.add(asOf.toISOString(), 'timestamptz')
  switch (w.kind) {
    case 'all':
      return { start: `'-infinity'::timestamptz`, end: at }
    case 'last_days': {
      return { start: p.add(lastDaysStart(asOf, w.days).toISOString(), 'timestamptz'), end: at }
    }
    case 'range': {
      const from = `(${p.add(w.from, 'timestamp')} AT TIME ZONE ${tz()})`
      const to = `(${p.add(w.to, 'timestamp')} AT TIME ZONE ${tz()})`
      return { start: from, end: `least(${to}, ${at})` }
    }
  }
}

/**
 * The customers with an event in the part of a window that differs between two asOfs: for every
 * (table, window) a statement reads, the rows in one of the two windows and not the other (the
 * days that entered and left a `lastDays` window, the events between the two asOfs for all time
 * or a date range) that pass the filters of one of the scopes reading them (a row no scope keeps
 * changes no measure). A window's start and end never go back as asOf grows, so with the earlier
 * window [s0, e0) and the later [s1, e1) that difference is [s0, min(s1, e0)) ∪ [max(s1, e0), e1).
 * One statement `SELECT uid …` (a UNION ALL: a uid can come more than once; the caller makes them
 * distinct); null when the statement reads no event table.
 */
export function windowEdgesSql(
  scopes: ReadonlyArray<ScopeRead>,
  a: Date,
  b: Date,
  timeZone: string,
): { sql: string; params: unknown[] } | null {
  const [early, late] = a.getTime() <= b.getTime() ? [a, b] : [b, a]
  const e = new Emitter(late, timeZone)
  const tz = () => e.tz()
  // The filters of every scope reading each (table, window); an empty list keeps every row.
  const reads = new Map<string, { table: string; window: WindowNode; filters: Array<readonly Predicate[]> }>()
  for (const s of scopes) {
    if (!/^ev\d+$/.test(s.table)) throw new Error(`unexpected event table ${s.table}`)
    const key = JSON.stringify([s.table, s.window])
    const r = reads.get(key) ?? { table: s.table, window: s.window, filters: [] }
    r.filters.push(s.where)
    reads.set(key, r)
  }
  const parts = [...reads.values()].map((r) => {
    const i0 = bounds(r.window, early, e.params, tz)
    const i1 = bounds(r.window, late, e.params, tz)
    const kept = r.filters.some((f) => f.length === 0)
      ? []
      : [`(${r.filters.map((f) => f.map((p) => `(${predicateSql(e, p, p.col.column)})`).join(' AND ')).join(' OR ')})`]
    const edges = `((time >= ${i0.start} AND time < least(${i1.start}, ${i0.end})) OR (time >= greatest(${i1.start}, ${i0.end}) AND time < ${i1.end}))`
    return `SELECT uid FROM ${r.table} WHERE ${[edges, ...kept].join(' AND ')}`
  })
  return parts.length ? { sql: parts.join(' UNION ALL '), params: e.params.values } : null
}
