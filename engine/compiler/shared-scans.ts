import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import type { CompileContext, CompiledRule } from './compile-rule.ts'
import { Emitter, scopeKey, type SharedLookup } from './emitter.ts'
import { ruleSql } from './emit-rule.ts'
import { scopeWhere } from './emit-predicate.ts'
import type { MeasureNode, Scope } from './ir.ts'
import { validateDefinition } from './validate-definition.ts'

/**
 * Shared scans (issue 10): labels refreshed together that aggregate the same event table read it
 * once. Every (scope, measure) the labels' statements would aggregate per user becomes one column
 * `agg(…) FILTER (WHERE <the scope's window and filters>)` of a single `GROUP BY uid` pass over
 * the table, stored as one narrow `(uid, v)` table per measure (narrowScanSql; engine/calc/refresh.ts
 * builds them); each label's statement then reads its measures from there instead of aggregating
 * the table itself (Emitter's SharedLookup). One wide table per pass (`CREATE TABLE AS` the
 * pass: the first version, still there for the bench) made every label read every column of
 * every customer: at 1M events its label statements took ~1.2–1.3× the narrow ones' time (the
 * narrow tables take ~2.5× as long to build: all in all even there, and they scale with the
 * customers that have a value rather than with customers × measures per label).
 * Everything else of the label's statement is unchanged, so its result is the one it gets alone:
 * - a user without events in a scope has NULL (sum, avg, min, max) or 0 (count) in its column,
 *   exactly what the label's own LEFT JOIN gave (additive measures are COALESCEd to 0 and
 *   avg/min/max without a value are no value, either way);
 * - the scan's rows are users with at least one event in the union of its scopes, a superset of
 *   each scope's, and no statement reads a scope's rows other than through its measures.
 * Left out (by reasoning, not measured yet): `count(DISTINCT …)` measures (days, distinct):
 * PostgreSQL can't hash-aggregate DISTINCT aggregates, so one of them would turn the whole pass
 * into a sort by uid; they keep their own scan. first_last and preference rank rows or
 * (uid, value) groups rather than aggregate per user, and keep theirs.
 */

/** Measures a shared scan aggregates. */
const shareable: Record<MeasureNode['agg'], boolean> = {
  count: true,
  sum: true,
  avg: true,
  min: true,
  max: true,
  days: false,
  distinct: false,
}

/** At most this many aggregates per pass (refresh.ts scanColumns lowers it with the customers' count). */
const maxColumnsPerScan = 64

export interface ScanPlan {
  /** The event table read. */
  readonly source: string
  /** `SELECT uid, a0, a1… FROM ev<N> WHERE … GROUP BY uid`, to be written into the scan table. */
  readonly sql: string
  readonly params: unknown[]
  /** How many labels read it. */
  readonly labels: number
  /** Column per (scope, measure) key, in the order of the SELECT: `a0`, `a1`… */
  readonly columns: ReadonlyMap<string, string>
  /** The aggregate of each column, in the same order. */
  readonly aggs: readonly MeasureNode['agg'][]
}

/**
 * The statements that store a scan as one narrow table per column, `(uid, v)` with only the users
 * that have a value (count 0 is no value: the label's own LEFT JOIN gave it no row either, and
 * additive measures read a missing row as 0), from one pass: the aggregate is a MATERIALIZED CTE
 * that every column's INSERT reads. `tables[i]` holds column `a<i>`.
 */
export function narrowScanSql(scan: ScanPlan, tables: readonly string[]): { create: string; fill: string } {
  const cols = [...scan.columns.values()]
  if (tables.length !== cols.length) throw new Error(`narrowScanSql: ${cols.length} columns, ${tables.length} tables`)
  const isCount = (i: number) => scan.aggs[i] === 'count'
  const create = cols
    .map(
      (_, i) =>
        `CREATE UNLOGGED TABLE ${tables[i]} (uid int NOT NULL, v ${isCount(i) ? 'bigint' : 'double precision'})`,
    )
    .join('; ')
  const writes = cols.map(
    (col, i) =>
      `w${i} AS (INSERT INTO ${tables[i]} (uid, v) SELECT uid, ${col} FROM s WHERE ${isCount(i) ? `${col} > 0` : `${col} IS NOT NULL`})`,
  )
  return { create, fill: `WITH s AS MATERIALIZED (${scan.sql}), ${writes.join(', ')} SELECT 1` }
}

export interface SharedScanPlan {
  readonly scans: ScanPlan[]
  /** The lookup for label statements once scan i is stored in `tables[i]`. */
  lookup(tables: ReadonlyArray<string | readonly string[]>): SharedLookup
}

const measureKey = (scope: Scope, measure: MeasureNode) => `${scopeKey(scope)}|${JSON.stringify(measure)}`

/**
 * Plans the shared scans of a batch of definitions compiled at the same asOf and time zone.
 * Definitions that don't validate are skipped (their runs fail alone, with their own error).
 * A table gets a scan only when at least `minLabels` labels read shareable measures of it.
 */
export function planSharedScans(
  defs: ReadonlyArray<{ dataType: DataType; rule: Rule }>,
  ctx: CompileContext,
  minLabels = 2,
  maxColumns = maxColumnsPerScan,
): SharedScanPlan {
  // table → (measure key → {scope, measure}), and the labels reading each table
  const byTable = new Map<string, { items: Map<string, { scope: Scope; measure: MeasureNode }>; labels: number }>()
  for (const def of defs) {
    let pairs: Array<{ scope: Scope; measure: MeasureNode }>
    try {
      const node = validateDefinition(def, ctx.catalogue)
      if (node.method === 'import') continue
      const e = new Emitter(ctx.asOf, ctx.tz)
      ruleSql(e, node)
      pairs = e.scopeMeasures().filter((p) => shareable[p.measure.agg])
    } catch {
      continue
    }
    const seen = new Set<string>()
    for (const p of pairs) {
      const t = p.scope.event.table
      let entry = byTable.get(t)
      if (!entry) byTable.set(t, (entry = { items: new Map(), labels: 0 }))
      entry.items.set(measureKey(p.scope, p.measure), p)
      if (!seen.has(t)) {
        seen.add(t)
        entry.labels++
      }
    }
  }
  const scans: ScanPlan[] = []
  for (const [source, entry] of byTable) {
    if (entry.labels < minLabels) continue
    const items = [...entry.items.entries()]
    for (let from = 0; from < items.length; from += maxColumns) {
      const part = items.slice(from, from + maxColumns)
      const e = new Emitter(ctx.asOf, ctx.tz)
      const columns = new Map<string, string>()
      const cols = part.map(([key, p], i) => {
        columns.set(key, `a${i}`)
        return `${e.aggregate(p.measure)} FILTER (WHERE ${scopeWhere(e, p.scope)}) AS a${i}`
      })
      // Rows outside every scope are left out early: all windows end at asOf, and when every
      // scope has a lastDays window the earliest start bounds them all.
      const windows = part.map(([, p]) => p.scope.window)
      const earliest = windows.every((w) => w.kind === 'last_days')
        ? e.window({ kind: 'last_days', days: Math.max(...windows.map((w) => (w.kind === 'last_days' ? w.days : 0))) })
        : e.window({ kind: 'all' })
      scans.push({
        source,
        sql: `SELECT uid, ${cols.join(', ')} FROM ${source} WHERE ${earliest} GROUP BY uid`,
        params: e.params.values,
        labels: entry.labels,
        columns,
        aggs: part.map(([, p]) => p.measure.agg),
      })
    }
  }
  return {
    scans,
    lookup: (tables) => (scope, measure) => {
      const key = measureKey(scope, measure)
      for (const [i, s] of scans.entries()) {
        const column = s.columns.get(key)
        const table = tables[i]
        if (!column || !table) continue
        if (typeof table === 'string') return { table, column }
        const narrow = table[[...s.columns.keys()].indexOf(key)]
        if (narrow) return { table: narrow, column: 'v' }
      }
      return null
    },
  }
}

/** compileRule reading measures from shared scans where the lookup has them. */
export function compileRuleShared(
  def: { dataType: DataType; rule: Rule },
  ctx: CompileContext,
  shared: SharedLookup,
): CompiledRule {
  const node = validateDefinition(def, ctx.catalogue)
  const e = new Emitter(ctx.asOf, ctx.tz, shared)
  const sql = ruleSql(e, node)
  return { sql, params: e.params.values }
}
