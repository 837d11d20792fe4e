import type { Definition } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { compileRule } from '../compiler/index.ts'
import { compileRuleShared, narrowScanSql, planSharedScans, type SharedScanPlan } from '../compiler/shared-scans.ts'
import type { SharedLookup } from '../compiler/emitter.ts'
import { loadCatalogue } from '../storage/catalogue.ts'
import type { RunOutcome } from '../read/read-model.ts'
import { executeRun, type CompileFn } from './execute-run.ts'
import { loadRun } from './runs.ts'
import type { ResultWrites } from './result-swap.ts'
import { baseOrReason, currentSnapshot, type Incremental } from './incremental.ts'
import { dropStaleScratch, scratchCreatedAt, scratchTableName } from '../storage/scratch-tables.ts'
import { countUsers } from '../storage/user-count.ts'

/** One queued run of a refresh, with the definition to run it with (as for executeRun). */
export interface RefreshItem {
  runId: string
  definition?: Definition
}

export interface RefreshOptions {
  tz: string
  /** Per run, as for executeRun (the shared scans themselves are not bounded by it). */
  timeoutMs?: number
  /** Compute each label alone (no shared scans): the reference, and the fallback. */
  shared?: boolean
  /** How a label alone is compiled (default: the rule compiler over the current catalogue). */
  compile?: CompileFn
  /** As executeRun's resultWrites. */
  resultWrites?: ResultWrites
  /** How scans are stored (default narrow). */
  layout?: ScanLayout
  /** As executeRun's incremental. */
  incremental?: Incremental
  /** As executeRun's slowStatementMs. */
  slowStatementMs?: number
}

/** PostgreSQL's work_mem for a scan's aggregation (a session's default is 4MB). */
const scanWorkMem = '256MB'

const scanTableName = () => scratchTableName('shared_scan_')

/** How a scan is stored: one wide table (uid + a column per measure) or one narrow `(uid, v)` table per measure. */
export type ScanLayout = 'wide' | 'narrow'

/**
 * Builds a plan's scans (each in its own transaction, with `work_mem` raised for its one
 * aggregation) and returns the lookup that reads them. Every table made is pushed to
 * `created` before it exists, so the caller drops them even when building fails half-way.
 */
export async function buildScans(
  db: SqlExecutor,
  plan: SharedScanPlan,
  created: string[],
  layout: ScanLayout = 'narrow',
  name: () => string = scanTableName,
): Promise<SharedLookup> {
  const tables: Array<string | string[]> = []
  for (const scan of plan.scans) {
    await db.transaction(async (tx) => {
      // JIT compiling a scan's dozens of FILTER expressions took ~0.85 s per scan at 1M events
      // (EXPLAIN ANALYZE, PostgreSQL 15) and bought nothing back.
      if (tx.kind === 'postgres') await tx.exec(`SET LOCAL work_mem = '${scanWorkMem}'; SET LOCAL jit = off`)
      if (layout === 'wide') {
        const t = name()
        created.push(t)
        await tx.query(`CREATE UNLOGGED TABLE ${t} AS ${scan.sql}`, scan.params)
        tables.push(t)
        return
      }
      const names = [...scan.columns.keys()].map(() => name())
      created.push(...names)
      const { create, fill } = narrowScanSql(scan, names)
      await tx.exec(create)
      await tx.query(fill, scan.params)
      tables.push(names)
    })
  }
  return plan.lookup(tables)
}

/**
 * Measures per scan pass, so that its per-user state stays in memory: the aggregation held ~1.6 kB
 * per user at 51 measures (EXPLAIN ANALYZE, 100k users: 118 MB), and the materialised rows the
 * narrow tables are filled from ~8 B per measure and user more. Budget: ~128 MB (PGlite's
 * work_mem; PostgreSQL's scans get 256MB), between 4 and 64 measures a pass.
 */
export function scanColumns(users: number): number {
  const bytesPerUserAndMeasure = 40
  return Math.max(4, Math.min(64, Math.floor(128e6 / (Math.max(1, users) * bytesPerUserAndMeasure))))
}

/** When a scan table name says it was created, or null for another name. */
export function scanCreatedAt(table: string): number | null {
  return scratchCreatedAt('shared_scan_', table)
}

/**
 * Executes a batch of queued runs (labels due at the same slot), in order, each exactly as
 * executeRun does (own transaction, snapshot, swap; a failure fails that run only), but with the
 * event tables that several of them aggregate read once: the runs sharing an asOf that compute
 * every customer get shared scans (engine/compiler/shared-scans.ts), written to UNLOGGED scan
 * tables (one per measure) before the first run and dropped after the last; runs that can start
 * from their label's results stay incremental, alone. If building the scans fails, the runs are
 * computed alone.
 * Returns the outcomes in the order of `items`.
 */
export async function executeRefresh(
  db: SqlExecutor,
  items: readonly RefreshItem[],
  opts: RefreshOptions,
): Promise<RunOutcome[]> {
  const alone: CompileFn =
    opts.compile ?? (async (def, { db, ...ctx }) => compileRule(def, { catalogue: await loadCatalogue(db), ...ctx }))
  // Scan tables would be local to the Citus coordinator, not co-located with the distributed
  // event shards they are joined to: there each label is computed alone.
  if (opts.shared === false || items.length < 2 || db.citus) return runAll(db, items, opts, () => alone)

  // The definitions each run will be computed with, grouped by asOf; but a run that can start from
  // its label's results (an incremental run: calc/incremental.ts) computes its changed customers
  // alone, since reading the scans would compute every customer. Its run decides again, inside.
  const incremental = opts.incremental !== false && (opts.resultWrites ?? 'swap') !== 'swap'
  const byAsOf = new Map<string, Definition[]>()
  const fromBase = new Set<string>()
  for (const it of items) {
    const run = await loadRun(db, it.runId)
    if (!run || run.status !== 'queued') continue
    const def = it.definition ?? run.definition
    if (
      incremental &&
      def.rule.method !== 'import' &&
      !('reason' in (await baseOrReason(db, run.labelId, def, opts.tz)))
    ) {
      fromBase.add(it.runId)
      continue
    }
    const list = byAsOf.get(run.asOf) ?? []
    list.push(def)
    byAsOf.set(run.asOf, list)
  }
  const catalogue = await loadCatalogue(db)
  const created: string[] = []
  const compilers = new Map<string, CompileFn>()
  try {
    for (const [asOfIso, defs] of byAsOf) {
      const asOf = new Date(asOfIso)
      const plan = planSharedScans(defs, { catalogue, asOf, tz: opts.tz }, 2, scanColumns(await countUsers(db)))
      if (plan.scans.length === 0) continue
      // What the scans read is at least what this snapshot sees: a run reading them records it
      // rather than its own, later one (execute-run.ts SourceSql.readAt), so that data committed
      // between the scans and the run is computed at the label's next run.
      const readAt = (await currentSnapshot(db)) ?? undefined
      let lookup: SharedLookup
      try {
        lookup = await buildScans(db, plan, created, opts.layout)
      } catch {
        continue // this asOf's runs are computed alone
      }
      // The scans hold the columns as they were at planning (runAll passes this refresh's tz).
      compilers.set(asOfIso, async (def, ctx) => ({
        ...compileRuleShared(def, { catalogue, asOf: ctx.asOf, tz: ctx.tz }, lookup),
        readAt,
      }))
    }
    return await runAll(db, items, opts, (runId, asOf) =>
      fromBase.has(runId) ? alone : (compilers.get(asOf) ?? alone),
    )
  } finally {
    for (const t of created) await db.exec(`DROP TABLE IF EXISTS ${t}`).catch(() => {})
  }
}

async function runAll(
  db: SqlExecutor,
  items: readonly RefreshItem[],
  opts: RefreshOptions,
  compilerFor: (runId: string, asOfIso: string) => CompileFn,
): Promise<RunOutcome[]> {
  const out: RunOutcome[] = []
  for (const it of items) {
    const run = await loadRun(db, it.runId)
    // A run no longer queued (cancelled, or claimed elsewhere) is reported as it stands; the
    // rest of the refresh goes on.
    if (run && run.status !== 'queued') {
      out.push({ run, results: null })
      continue
    }
    const compile = compilerFor(it.runId, run?.asOf ?? '')
    out.push(
      await executeRun(db, it.runId, {
        tz: opts.tz,
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(it.definition ? { definition: it.definition } : {}),
        compile,
        resultWrites: opts.resultWrites ?? 'swap',
        ...(opts.incremental !== undefined ? { incremental: opts.incremental } : {}),
        ...(opts.slowStatementMs !== undefined ? { slowStatementMs: opts.slowStatementMs } : {}),
      }),
    )
  }
  return out
}

/** Drops scan tables a process that died mid-refresh left behind (older than a day). */
export function dropStaleScans(db: SqlExecutor, olderThanMs = 24 * 3_600_000, now = Date.now()): Promise<number> {
  return dropStaleScratch(db, scanCreatedAt, 'shared_scan_', olderThanMs, now)
}
