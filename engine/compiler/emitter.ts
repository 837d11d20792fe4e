import { sqlType, type ColumnRef } from '../storage/catalogue.ts'
import type { LabelValue, Literal, MeasureNode, Scope, WindowNode } from './ir.ts'
import { isZoneless, lastDaysStart } from './literals.ts'
import { Params } from './params.ts'

/** One aggregated scan of an event table, shared by every measure over its scopes. */
interface ScopeCte {
  readonly name: string
  readonly table: string
  /** The scopes it reads, by scopeKey: several when scopes of one table are merged. */
  readonly scopes: Map<string, Scope>
  readonly measures: Map<string, { alias: string; scope: Scope; scopeKey: string; measure: MeasureNode }>
}

/**
 * Where a (scope, measure) was already aggregated for several labels at once (shared-scans.ts):
 * the scan table (one row per user with any event the scan read) and the column holding the
 * measure, NULL or 0 for users without events in the scope, like the label's own aggregate.
 */
export type SharedLookup = (scope: Scope, measure: MeasureNode) => { table: string; column: string } | null

/**
 * Reading the rows of a table keyed by uid (users, a result table) for a few customers of many:
 * PostgreSQL plans `col IN (SELECT uid FROM list)`, or a join with the list, as a scan of every
 * row and a hash once the list holds a few thousand uids, whatever share of the table that is
 * (README "Benchmarks", "Customers and stored values read by key"). Two forms read the listed
 * keys instead; neither is for event tables, whose rows of a customer are spread over the table.
 *
 * byKey: `col = ANY (ARRAY(SELECT uid FROM list))`, one index scan over the listed keys. The
 * planner can't see the array's length and counts on 10 rows, so only where that estimate
 * can't pick a plan that rescans a side per row: a filter of its own, or a side of a FULL JOIN
 * (hash or merge only). Measured on PostgreSQL 15, 1M keyed rows: 5k uids 97 → 11 ms, 20k
 * 121 → 31 ms, 200k 270 → 185 ms; at 100k rows it loses from ~20% of them (20k uids 12 → 16 ms).
 */
export function byKey(col: string, list: string): string {
  if (!/^[a-z_][a-z0-9_.]*$/.test(list)) throw new Error(`unexpected table ${list}`)
  return `${col} = ANY (ARRAY(SELECT uid FROM ${list}))`
}

/**
 * lookUp: `LATERAL (SELECT cols FROM table WHERE uid = outer OFFSET 0)`, one look-up by key per
 * row of the side it follows, whose row count the planner keeps (OFFSET 0 keeps the subquery
 * from being flattened into a join it would plan as a scan). For a join's inner side.
 */
export function lookUp(table: string, cols: string, outerUid: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`unexpected table ${table}`)
  return `LATERAL (SELECT ${cols} FROM ${table} WHERE uid = ${outerUid} OFFSET 0)`
}

/** The key of a scope: two scopes with the same key select the same rows. */
export const scopeKey = (scope: Scope): string => JSON.stringify([scope.event.table, scope.where, scope.window])

/**
 * Builds one statement: owns the parameters, binds the time zone and asOf once, and
 * collects one CTE per event table, so each table is scanned and aggregated once per rule
 * however many conditions read it. A table read by several scopes (other windows or filters)
 * gets one scan of the rows of any of them, each measure `agg(...) FILTER (WHERE its scope)`.
 * A customer with rows in one scope only then has 0 or NULL for the others' measures (count,
 * sum… / avg, min…) where a CTE of its own had no row; the conditions read additive measures
 * through COALESCE(…, 0), so the value is the same. Measured on the refresh bench's 1M events,
 * PostgreSQL, the 37 of its 84 custom labels that merge: 13.9 → 10.3 s for their full
 * statements, 4.6 → 3.0 s restricted to 3% of the customers (README "Benchmarks", "Scopes of
 * one table in one scan, measured again"). An earlier measure of one hand-made rule with 3
 * scopes had shown no gain (1011 vs 1005 ms). Statements reading shared scans keep one CTE per
 * scope: a scan table holds a measure of a scope, and a CTE is read from them only when all its
 * measures are.
 */
export class Emitter {
  readonly params = new Params()
  private readonly scopes = new Map<string, ScopeCte>()

  /** Every scope a statement reads, in the order seen (a run's changed windows: calc/incremental.ts). */
  readonly scopesRead: Scope[] = []

  constructor(
    private readonly asOf: Date,
    private readonly timeZone: string,
    /** Shared scans to read measures from instead of the event table (a refresh's batch). */
    private readonly shared?: SharedLookup,
    /**
     * A table of uids (`uid int`) to compute for instead of every customer: an incremental run's
     * changed customers (calc/incremental.ts). A trusted name, never input.
     */
    private readonly only?: string,
  ) {
    if (only !== undefined && !/^[a-z_][a-z0-9_.]*$/.test(only)) throw new Error(`unexpected table ${only}`)
  }

  /** `uid IN (…)` restricting rows of `col` to the customers computed for; null for all. */
  onlyPredicate(col: string): string | null {
    return this.only === undefined ? null : `${col} IN (SELECT uid FROM ${this.only})`
  }

  /**
   * The FROM item of the customers computed for: `users u`, or for a restricted statement
   * `<only> o` and each one's row of `users` looked up by key (lookUp: a join was planned as a
   * scan of every customer), its LEFT JOINs to come after it (the table's uids are unique:
   * calc/incremental.ts writes them distinct). The first item rather than `WHERE u.uid IN (…)`
   * after the LEFT JOINs: past join_collapse_limit (8 relations) PostgreSQL keeps the written
   * order, and at 100M events a 4-layer custom label restricted to 1M of 10M customers ran every
   * customer through its LEFT JOINs and applied the restriction last (README "Benchmarks", 100M
   * events).
   */
  usersFrom(alias: string): string {
    return this.only === undefined
      ? `users ${alias}`
      : `${this.only} ${alias}_only CROSS JOIN ${lookUp('users', '*', `${alias}_only.uid`)} ${alias}`
  }

  /**
   * The uid of usersFrom's customer, for the scopes' LEFT JOINs: in a restricted statement the
   * computed customers' table's (`<alias>_only.uid`), not the looked-up row's. Joined to the
   * looked-up row, a scope could be planned inside the look-up's loop, a hash join per customer
   * that reads the whole scope each time: at 1M events, with uid's distinct count known to the
   * planner, a custom label's restricted statement took 16.8 s instead of 0.24 s (7,141 customers
   * × a scope of 3,447 rows). Joined to the table, the scope can only join the customers as a
   * whole (README "Benchmarks", "Restricted statements and the planner's estimates").
   */
  usersKey(alias: string): string {
    return this.only === undefined ? `${alias}.uid` : `${alias}_only.uid`
  }

  tz(): string {
    return this.params.once('tz', this.timeZone, 'text')
  }

  /** The asOf the statement computes for. */
  get asOfDate(): Date {
    return this.asOf
  }

  asOfSql(): string {
    return this.params.once('asOf', this.asOf.toISOString(), 'timestamptz')
  }

  /** A property/attribute literal; zoneless dates are read in the workspace time zone. */
  literal(l: Literal): string {
    if (l.type === 'date' && typeof l.value === 'string' && isZoneless(l.value)) {
      return `(${this.params.add(l.value, 'timestamp')} AT TIME ZONE ${this.tz()})`
    }
    return this.params.add(l.value, sqlType[l.type])
  }

  /** A value of the label's data type. */
  labelValue(v: LabelValue): string {
    if (v.type === 'collection') return this.params.add(v.value, 'text[]')
    return this.literal({ type: v.type, value: v.value })
  }

  /** Time-window predicate on `time`; events at or after asOf never count. */
  window(w: WindowNode): string {
    const before = `time < ${this.asOfSql()}`
    const kinds: { [K in WindowNode['kind']]: (w: Extract<WindowNode, { kind: K }>) => string } = {
      all: () => before,
      last_days: (x) =>
        `time >= ${this.params.add(lastDaysStart(this.asOf, x.days).toISOString(), 'timestamptz')} AND ${before}`,
      range: (x) =>
        `time >= (${this.params.add(x.from, 'timestamp')} AT TIME ZONE ${this.tz()}) AND time < (${this.params.add(x.to, 'timestamp')} AT TIME ZONE ${this.tz()}) AND ${before}`,
    }
    return (kinds[w.kind] as (w: WindowNode) => string)(w)
  }

  /** The aggregate expression of a measure over the scope's rows. */
  aggregate(m: MeasureNode): string {
    const col = (x: MeasureNode) => (x as { col: ColumnRef }).col.column
    const aggs: Record<MeasureNode['agg'], (m: MeasureNode) => string> = {
      count: () => 'count(*)',
      days: () => `count(DISTINCT (time AT TIME ZONE ${this.tz()})::date)`,
      distinct: (x) => `count(DISTINCT ${col(x)})`,
      sum: (x) => `sum(${col(x)})`,
      avg: (x) => `avg(${col(x)})`,
      min: (x) => `min(${col(x)})`,
      max: (x) => `max(${col(x)})`,
    }
    return aggs[m.agg](m)
  }

  /** Registers a measure over a scope and returns `s<i>.m<j>` (NULL for users without rows). */
  measureRef(scope: Scope, measure: MeasureNode): { cte: string; ref: string } {
    const key = this.shared ? scopeKey(scope) : scope.event.table
    let cte = this.scopes.get(key)
    if (!cte) {
      cte = { name: `s${this.scopes.size}`, table: scope.event.table, scopes: new Map(), measures: new Map() }
      this.scopes.set(key, cte)
    }
    const skey = scopeKey(scope)
    cte.scopes.set(skey, scope)
    const mkey = `${skey}|${JSON.stringify(measure)}`
    let m = cte.measures.get(mkey)
    if (!m) {
      m = { alias: `m${cte.measures.size}`, scope, scopeKey: skey, measure }
      cte.measures.set(mkey, m)
    }
    return { cte: cte.name, ref: `${cte.name}.${m.alias}` }
  }

  /** Names of the registered scope CTEs, for LEFT JOINs. */
  scopeNames(): string[] {
    return [...this.scopes.values()].map((s) => s.name)
  }

  /** Every (scope, measure) the statement aggregates, in registration order. */
  scopeMeasures(): Array<{ scope: Scope; measure: MeasureNode }> {
    return [...this.scopes.values()].flatMap((s) =>
      [...s.measures.values()].map((m) => ({ scope: m.scope, measure: m.measure })),
    )
  }

  /**
   * Renders `WITH …` for the scope CTEs, or '' when there are none. `rowsOf` is a scope's
   * predicate on its table's rows (scopeRows); the computed customers' restriction is added once.
   */
  renderWith(rowsOf: (scope: Scope) => string): string {
    const only = this.onlyPredicate('uid')
    const ctes = [...this.scopes.values()].map((s) => {
      const fromShared = this.fromShared(s)
      if (fromShared) return fromShared
      const rows = new Map([...s.scopes].map(([k, scope]) => [k, rowsOf(scope)]))
      const one = rows.size === 1
      const cols = [...s.measures.values()]
        .map((m) => {
          const filter = one ? '' : ` FILTER (WHERE ${rows.get(m.scopeKey)})`
          return `${this.aggregate(m.measure)}${filter} AS ${m.alias}`
        })
        .join(', ')
      const any = one ? [...rows.values()][0] : [...rows.values()].map((r) => `(${r})`).join(' OR ')
      const where = only ? `${one ? any : `(${any})`} AND ${only}` : any
      return `${s.name} AS (SELECT uid, ${cols} FROM ${s.table} WHERE ${where} GROUP BY uid)`
    })
    return ctes.length ? `WITH ${ctes.join(', ')} ` : ''
  }

  /** A scope CTE read from one shared scan table, when every measure of it is there. */
  private fromShared(s: ScopeCte): string | null {
    if (!this.shared) return null
    const found = [...s.measures.values()].map((m) => ({ m, at: this.shared?.(m.scope, m.measure) ?? null }))
    if (found.length === 0 || found.some((f) => f.at === null)) return null
    // The measures' tables, each once; several are full-joined on uid (USING merges it).
    const tables = [...new Set(found.map((f) => f.at?.table as string))]
    const alias = (t: string | undefined) => `x${tables.indexOf(t as string)}`
    const joined = tables.map((t, i) => (i ? ` FULL JOIN ${t} x${i} USING (uid)` : `${t} x0`)).join('')
    return `${s.name} AS (SELECT uid, ${found.map((f) => `${alias(f.at?.table)}.${f.at?.column} AS ${f.m.alias}`).join(', ')} FROM ${joined})`
  }
}
