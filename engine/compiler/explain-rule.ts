import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import type { ColumnRef, EventInfo } from '../storage/catalogue.ts'
import { coveredFilter } from '../calc/value-types.ts'
import type { CompileContext } from './compile-rule.ts'
import { conditionSql } from './emit-condition.ts'
import { scopeRows, scopeWhere } from './emit-predicate.ts'
import { ruleSql } from './emit-rule.ts'
import { Emitter } from './emitter.ts'
import { additive, type CondNode, type MeasureNode, type RuleNode, type Scope, type WindowNode } from './ir.ts'
import { lastDaysStart } from './literals.ts'
import { validateDefinition } from './validate-definition.ts'

/**
 * One customer's value and the reasons behind it (engine/read/explain.ts), as one statement.
 *
 * The value is the rule's own statement (`ruleSql`, the same emitters as a run) evaluated over
 * this customer's rows only: every event table `ev<N>` the rule reads is replaced by `x<i>`, a
 * MATERIALIZED CTE of that table's rows of the customer. Every measure of every method is per
 * customer (`GROUP BY uid`, `PARTITION BY uid`, `DISTINCT ON (uid)`), so restricting the rows
 * to one uid changes nothing for that uid — and each table is scanned once however many scopes
 * read it. Beside the value, the same emitters give each condition's boolean and measured value
 * (custom), the measure (metric, distribution), and the events behind them.
 */

/** Where each part of a condition's explanation is in the row. */
export type ExplainCondLayout =
  | { readonly kind: 'attribute'; readonly ok: string; readonly actual: string }
  | { readonly kind: 'behaviour'; readonly ok: string; readonly measured: string; readonly events: string }
  | { readonly kind: 'all' | 'any'; readonly ok: string; readonly items: readonly ExplainCondLayout[] }
  | { readonly kind: 'not'; readonly ok: string; readonly item: ExplainCondLayout }

/** Where each part of a method's explanation is in the row (column names). */
export type ExplainLayout =
  | { readonly method: 'custom'; readonly layers: readonly ExplainCondLayout[] }
  | {
      readonly method: 'metric' | 'distribution'
      readonly measured: string
      readonly events: string
      readonly top: string | null
    }
  | { readonly method: 'first_last'; readonly events: string; readonly picked: string; readonly top: string | null }
  | { readonly method: 'preference'; readonly events: string; readonly ranking: string }

export interface CompiledExplain {
  /** One row (none when the uid doesn't exist): `value` jsonb (null: not covered), `newer` jsonb, and the layout's columns. */
  readonly sql: string
  readonly params: unknown[]
  readonly layout: ExplainLayout
}

/** An instant as ISO text in UTC, to the millisecond (independent of the session time zone). */
const iso = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/** A property/attribute value as jsonb: dates as ISO instants. */
const jsonOf = (col: ColumnRef, expr: string) => (col.type === 'date' ? `to_jsonb(${iso(expr)})` : `to_jsonb(${expr})`)

/** Ascending order of values: code-point order for strings (as the rule's ties), natural otherwise. */
const ordered = (col: ColumnRef, expr: string) => (col.type === 'string' ? `${expr} COLLATE "C"` : expr)

/** The rule tree with every scope's event table replaced by its customer slice. */
function sliceRule(node: RuleNode, slice: (ev: EventInfo) => EventInfo): RuleNode {
  const scope = (s: Scope): Scope => ({ ...s, event: slice(s.event) })
  const cond = (c: CondNode): CondNode => {
    switch (c.kind) {
      case 'attribute':
        return c
      case 'behaviour':
        return { ...c, scope: scope(c.scope) }
      case 'all':
      case 'any':
        return { ...c, items: c.items.map(cond) }
      case 'not':
        return { ...c, item: cond(c.item) }
    }
  }
  switch (node.method) {
    case 'custom':
      return { ...node, layers: node.layers.map((l) => ({ ...l, when: cond(l.when) })) }
    case 'metric':
    case 'distribution':
    case 'first_last':
    case 'preference':
      return { ...node, scope: scope(node.scope) }
    case 'import':
      return node
  }
}

/** Builds the detail columns of one statement; `e` binds after the rule statement's parameters. */
class DetailBuilder {
  readonly columns: string[] = []
  private readonly eventCols = new Map<string, string>()

  constructor(
    readonly e: Emitter,
    private readonly asOf: Date,
  ) {}

  column(expr: string, prefix: string): string {
    const name = `${prefix}${this.columns.length}`
    this.columns.push(`${expr} AS ${name}`)
    return name
  }

  /** Start of a window as an instant (null: all time); mirrors Emitter.window. */
  private windowFrom(w: WindowNode): string {
    if (w.kind === 'all') return 'NULL::text'
    if (w.kind === 'last_days') {
      return this.e.params.add(lastDaysStart(this.asOf, w.days).toISOString(), 'text')
    }
    return iso(`(${this.e.params.add(w.from, 'timestamp')} AT TIME ZONE ${this.e.tz()})`)
  }

  /** End of a window as an instant (exclusive): the asOf, or a range's end when that is earlier. */
  private windowTo(w: WindowNode): string {
    const asOf = this.e.asOfSql()
    if (w.kind !== 'range') return iso(asOf)
    return iso(`LEAST(${this.e.params.add(w.to, 'timestamp')} AT TIME ZONE ${this.e.tz()}, ${asOf})`)
  }

  /** jsonb of the scope's events of the customer: count, first and last time, window, the 5 latest. */
  events(scope: Scope): string {
    const key = JSON.stringify([scope.event.table, scope.where, scope.window])
    const known = this.eventCols.get(key)
    if (known) return known
    const where = scopeWhere(this.e, scope)
    const t = scope.event.table
    const recent = `(SELECT coalesce(jsonb_agg(jsonb_build_object('time', ${iso('time')}, 'eventId', event_id) ORDER BY time DESC, seq DESC), '[]'::jsonb) FROM (SELECT time, seq, event_id FROM ${t} WHERE ${where} ORDER BY time DESC, seq DESC LIMIT 5) r)`
    const expr = `(SELECT jsonb_build_object('count', count(*), 'first', ${iso('min(time)')}, 'last', ${iso('max(time)')}, 'from', ${this.windowFrom(scope.window)}, 'to', ${this.windowTo(scope.window)}, 'recent', ${recent}) FROM ${t} WHERE ${where})`
    const name = this.column(expr, 't')
    this.eventCols.set(key, name)
    return name
  }

  /** jsonb list of the property's 10 most frequent values in the scope, with counts, and how many distinct values there are. */
  top(scope: Scope, col: ColumnRef): string {
    const where = `${scopeWhere(this.e, scope)} AND ${col.column} IS NOT NULL`
    const t = scope.event.table
    const list = `(SELECT coalesce(jsonb_agg(jsonb_build_object('value', v, 'events', n) ORDER BY n DESC, k), '[]'::jsonb) FROM (SELECT ${jsonOf(col, col.column)} AS v, ${ordered(col, col.column)} AS k, count(*) AS n FROM ${t} WHERE ${where} GROUP BY ${col.column} ORDER BY n DESC, k LIMIT 10) g)`
    return this.column(
      `jsonb_build_object('values', ${list}, 'distinct', (SELECT count(DISTINCT ${col.column}) FROM ${t} WHERE ${where}))`,
      'v',
    )
  }

  /** A measure as the rule compares it: additive ones are 0 without events, the others NULL. */
  measured(scope: Scope, m: MeasureNode): string {
    const { ref } = this.e.measureRef(scope, m)
    return this.column(additive[m.agg] ? `COALESCE(${ref}, 0)::double precision` : `${ref}::double precision`, 'm')
  }

  condition(c: CondNode): ExplainCondLayout {
    const ok = this.column(conditionSql(this.e, c), 'k')
    switch (c.kind) {
      case 'attribute':
        return {
          kind: 'attribute',
          ok,
          actual: this.column(jsonOf(c.predicate.col, `u.${c.predicate.col.column}`), 'a'),
        }
      case 'behaviour':
        return { kind: 'behaviour', ok, measured: this.measured(c.scope, c.measure), events: this.events(c.scope) }
      case 'all':
      case 'any':
        return { kind: c.kind, ok, items: c.items.map((x) => this.condition(x)) }
      case 'not':
        return { kind: 'not', ok, item: this.condition(c.item) }
    }
  }

  /** The event the first/last rule reads: the same order as the rule (time, then ingestion order). */
  picked(n: Extract<RuleNode, { method: 'first_last' }>): string {
    const dir = n.which === 'last' ? 'DESC' : 'ASC'
    const t = n.scope.event.table
    const isTime = n.property === '$time'
    const value = isTime
      ? `to_jsonb(${iso('time')})`
      : jsonOf(n.property as ColumnRef, (n.property as ColumnRef).column)
    const set = isTime ? '' : ` AND ${(n.property as ColumnRef).column} IS NOT NULL`
    return this.column(
      `(SELECT jsonb_build_object('time', ${iso('time')}, 'value', ${value}, 'eventId', event_id) FROM ${t} WHERE ${scopeWhere(this.e, n.scope)}${set} ORDER BY time ${dir}, seq ${dir} LIMIT 1)`,
      'p',
    )
  }

  /** The property's values ranked as the preference rule ranks them, with their measure and events. */
  ranking(n: Extract<RuleNode, { method: 'preference' }>): string {
    const col = n.property
    const m = this.e.aggregate(n.by)
    const rank = additive[n.by.agg] ? `COALESCE(${m}, 0) DESC` : `${m} DESC NULLS LAST`
    const limit = this.e.params.add(Math.max(n.top, 10), 'int')
    const ranked = `SELECT ${jsonOf(col, col.column)} AS v, ${m}::double precision AS m, count(*) AS n, row_number() OVER (ORDER BY ${rank}, ${ordered(col, col.column)}) AS rn FROM ${n.scope.event.table} WHERE ${scopeWhere(this.e, n.scope)} AND ${col.column} IS NOT NULL GROUP BY ${col.column}`
    return this.column(
      `(SELECT coalesce(jsonb_agg(jsonb_build_object('value', v, 'measure', m, 'events', n, 'rank', rn) ORDER BY rn), '[]'::jsonb) FROM (${ranked} ORDER BY rn LIMIT ${limit}) r)`,
      'r',
    )
  }
}

/** Events of the customer at or after asOf in each table the rule reads: what the run could not count. */
function newerSql(e: Emitter, slices: ReadonlyArray<{ name: string; event: string }>): string {
  if (slices.length === 0) return `'[]'::jsonb`
  const parts = slices.map(
    (s) =>
      `(SELECT jsonb_build_object('event', ${e.params.add(s.event, 'text')}, 'count', count(*), 'last', ${iso('max(time)')}) FROM ${s.name} WHERE time >= ${e.asOfSql()})`,
  )
  return `jsonb_build_array(${parts.join(', ')})`
}

/**
 * Compiles the explanation of one customer's value (`uid`) for a definition as of `ctx.asOf`.
 * Validates like compileRule (LabelsError bad_request / invalid); the import method has no
 * formula and is not compiled (the caller reads its stored value).
 */
export function compileExplain(
  def: { dataType: DataType; rule: Rule },
  ctx: CompileContext & { readonly uid: number },
): CompiledExplain {
  const node = validateDefinition(def, ctx.catalogue)
  const rule = new Emitter(ctx.asOf, ctx.tz)
  const uid = rule.params.add(ctx.uid, 'int')
  const slices = new Map<string, { name: string; table: string; event: string }>()
  const sliced = sliceRule(node, (ev) => {
    let s = slices.get(ev.table)
    if (!s) {
      s = { name: `x${slices.size}`, table: ev.table, event: ev.name }
      slices.set(ev.table, s)
    }
    return { ...ev, table: s.name }
  })
  const value = `(SELECT to_jsonb(value) FROM (${ruleSql(rule, sliced)}) q WHERE uid = ${uid} AND ${coveredFilter(def.dataType)})`

  // Detail columns bind their parameters after the rule statement's, in the same list.
  const e = new Emitter(ctx.asOf, ctx.tz)
  e.params.values.push(...rule.params.values)
  const d = new DetailBuilder(e, ctx.asOf)
  const layout = layoutOf(d, sliced)
  const newer = newerSql(e, [...slices.values()])
  const body = `${e.renderWith((s) => scopeRows(e, s))}SELECT ${value} AS value, ${newer} AS newer${d.columns.map((c) => `, ${c}`).join('')} FROM users u${e
    .scopeNames()
    .map((s) => ` LEFT JOIN ${s} ON ${s}.uid = u.uid`)
    .join('')} WHERE u.uid = ${uid}`
  const ctes = [...slices.values()].map(
    (s) => `${s.name} AS MATERIALIZED (SELECT * FROM ${s.table} WHERE uid = ${uid})`,
  )
  const sql = ctes.length ? `WITH ${ctes.join(', ')} SELECT * FROM (${body}) d` : body
  return { sql, params: e.params.values, layout }
}

function layoutOf(d: DetailBuilder, n: RuleNode): ExplainLayout {
  switch (n.method) {
    case 'custom':
      return { method: 'custom', layers: n.layers.map((l) => d.condition(l.when)) }
    case 'metric':
    case 'distribution':
      return {
        method: n.method,
        measured: d.measured(n.scope, n.measure),
        events: d.events(n.scope),
        top: 'col' in n.measure ? d.top(n.scope, n.measure.col) : null,
      }
    case 'first_last':
      return {
        method: 'first_last',
        events: d.events(n.scope),
        picked: d.picked(n),
        top: n.property === '$time' ? null : d.top(n.scope, n.property),
      }
    case 'preference':
      return { method: 'preference', events: d.events(n.scope), ranking: d.ranking(n) }
    case 'import':
      throw new Error('unreachable: import rules are not compiled')
  }
}
