// npm run bench -- refresh [--size tiny|small|large|huge] [--users N] [--labels 300]
//                          [--engines pglite,postgres,citus,duckdb] [--memory] [--one-by-one] [--ingest-only]
//                          [--result-writes swap|changed|auto] [--days 2…7] [--layout narrow|wide]
//                          [--statements-only] [--no-statements] [--shared-first] [--explain] [--profile]
//                          [--concurrency N] [--full | --always-restricted] [--cluster uid|time] [--vacuum]
//                          [--delta on|off|alternate] [--checkpoint] [--batch-runs K]
//
// Issue 10's daily refresh: a seeded workspace of 300 dynamic labels due at the same slot
// (bench/refresh-workspace.ts) refreshed over the demo shop's events on PGlite, PostgreSQL
// (when BENCH_DATABASE_URL or TEST_DATABASE_URL is set) and a Citus coordinator (issue 11; when
// BENCH_CITUS_URL or TEST_CITUS_URL is set: scripts/citus-cluster.sh starts 3 local nodes; the
// engine distributes its tables there itself) through the engine's run path
// (compile, result table, history snapshot, summary, swap), against the peer: DuckDB running the
// same labels' hand-written SQL one by one on the same files. Then one more day of events
// arrives (with a few late ones from the hours before the first refresh) and the labels are
// refreshed again at the next day's slot (--days 3 or more: again for each further day, as a daily
// refresh whose runs choose how to write from the day before's with --result-writes auto). Sizes:
// tiny 100k events, small 1M (default), large 10M, huge 100M. Every label's results are checked against DuckDB's (row count and value
// counts or sums); a mismatch is printed. --ingest-only compares, per engine, staging by binary
// COPY with staging by INSERT … SELECT FROM unnest (the executor's copyFrom hidden), nothing else.
// Before the passes, the labels' statements alone against the same statements reading shared
// scans (stored as --layout: narrow, as the engine does, or wide, the first version), per method
// and with the scans' own time (--statements-only: only that; --no-statements: skip it).
// --one-by-one: no shared scans anywhere (the server's run queue runs labels one by one): every day
// label by label, and the statements alone only. Citus is always one by one: the engine computes
// each label alone there (shared scans' tables would be local to the coordinator, see
// engine/calc/refresh.ts). --users N: another number of customers than the size's (a quick check).
// --explain: EXPLAIN ANALYZE of one label per method after day 1 (on Citus: its task count and
// the slowest task's plan and time), and with --one-by-one and incremental runs, before each later
// day's pass, of the same labels' statements restricted as their incremental runs will compute them. --profile: each label-by-label pass's time per kind of statement
// the runs sent (their SQL with names and numbers blanked), with the commits: where a run's time goes.
// --concurrency N: label-by-label passes run N labels at once, as the server's run queue does
// (LABELS_CALC_CONCURRENCY, 3 by default on PostgreSQL); per method is then the sum of its runs' times.
// --full: every run computes every customer (LABELS_INCREMENTAL=off); otherwise, with --result-writes
// auto or changed (swap fills a new table for every run), a label's run after
// its first computes only the customers whose data or windows changed (engine/calc/incremental.ts),
// unless its last such run took longer than a full one; --always-restricted: regardless
// (LABELS_INCREMENTAL=always).
// --delta on|off|alternate: incremental runs with the compiler's delta forms (a count or a first/last
// updated from the window's edges: engine/compiler/emit-delta.ts; on, the engine's way), without
// (off: the label's statement restricted), or on for days 2, 4, … and off for days 3, 5, … (alternate:
// both in one run, on the same machine and data).
// --cluster uid|time: after day 1's ingestion, every event table rewritten in customer or time order
// (CLUSTER; the demo's files list events customer by customer, daily exports by time).
// --vacuum: after day 1's ingestion (and --cluster), VACUUM (ANALYZE) of users and every event table,
// timed apart: whether the first refresh after a bulk load pays for the load's hint bits and
// visibility map (and on PostgreSQL, for autovacuum running beside it).
// --checkpoint: a CHECKPOINT (on Citus on every node), untimed, before each timed pass (after that
// day's ingestion): the pass then starts with nothing of the work before it left to write, as a
// daily refresh does, a day after the last one's writes went to disk. Without it, day 2 follows day
// 1 at once and writes out day 1's dirty pages as it goes.
// --batch-runs K: the label-by-label passes execute every K runs (of each of --concurrency's workers)
// in one transaction, each run under a savepoint: one commit for K runs instead of one each (the
// engine's runs commit one by one; this measures what sharing a commit would save).
import { existsSync, mkdirSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { demoEvents } from '../engine/demo/index.ts'
import type { CompileFn } from '../engine/calc/execute-run.ts'
import { compileRule } from '../engine/compiler/index.ts'
import { compileRuleShared, planSharedScans } from '../engine/compiler/shared-scans.ts'
import { executeRun } from '../engine/calc/execute-run.ts'
import { buildScans, executeRefresh, scanColumns, type ScanLayout } from '../engine/calc/refresh.ts'
import { loadCatalogue } from '../engine/storage/catalogue.ts'
import { addTimeIndexes } from '../engine/storage/extend.ts'
import { INGEST_STATISTICS_TARGET } from '../engine/ingest/store.ts'
import {
  AFFECTED_TABLE,
  collectAffected,
  incrementalBase,
  RECOMPUTE_TABLE,
  type Incremental,
} from '../engine/calc/incremental.ts'
import { compileWithCatalogue, EngineService } from '../engine/service.ts'
import { noTimings, type RunTimings, type SlowStatement } from '../engine/calc/run-clock.ts'
import type { ResultWrites } from '../engine/calc/result-swap.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import type { RunOutcome } from '../engine/read/read-model.ts'
import { engineDigest, sameDigest, type Digest } from './refresh-digest.ts'
import { duckDigest, loadDuckEvents, loadDuckUsers, openDuck, runDuckLabel } from './refresh-duckdb.ts'
import { refreshWorkspace, type BenchLabel } from './refresh-workspace.ts'
import { demoFiles, ingestFile, open, writeLines } from './engine.ts'

export const sizes = {
  tiny: { users: 10_000 },
  small: { users: 100_000 },
  large: { users: 1_000_000 },
  huge: { users: 10_000_000 },
} as const
const seed = 1
const now = '2025-06-01T00:00:00.000Z'
export const day1 = new Date(now)
const dayMs = 86_400_000
/** The slot of day `k` (day 1 = the first refresh). */
const dayAt = (k: number) => new Date(day1.getTime() + (k - 1) * dayMs)
/** Events of the second day that arrive late: up to this long before the first refresh. */
const lateMs = 2 * 3_600_000

interface Args {
  size: keyof typeof sizes
  /** Customers (the size's unless --users). */
  users: number
  labels: number
  engines: string[]
  memory: boolean
  oneByOne: boolean
  ingestOnly: boolean
  /** How runs write their results (LABELS_RESULT_WRITES; --write-changed: changed). */
  resultWrites: ResultWrites
  /** Days refreshed: day 1, then one more day of events before each further one. */
  days: number
  /** How shared scans are stored (engine/calc/refresh.ts). */
  layout: ScanLayout
  /** Only the statements (alone vs shared scans), no refresh passes. */
  statementsOnly: boolean
  /** No statements-only comparison. */
  noStatements: boolean
  /** Day 1 with shared scans before day 1 label by label (the other order, for a machine whose load changes). */
  sharedFirst: boolean
  /** EXPLAIN ANALYZE of one label per method after day 1. */
  explain: boolean
  /** Label-by-label runs executed at once (the run queue's LABELS_CALC_CONCURRENCY). */
  concurrency: number
  /** The label-by-label passes' statements timed by kind. */
  profile: boolean
  /** Runs compute only the customers whose data or windows changed (LABELS_INCREMENTAL; --full: off; --always-restricted: always). */
  incremental: Incremental
  /** After day 1's ingestion, each event table rewritten in customer or time order (CLUSTER … USING ev<N>_uid|time). */
  cluster?: 'uid' | 'time'
  /** After day 1's ingestion, VACUUM (ANALYZE) of users and every event table. */
  vacuum: boolean
  /** A CHECKPOINT before each timed pass, untimed. */
  checkpoint: boolean
  /** Label-by-label runs executed this many to a transaction (1: each its own, as the engine does). */
  batchRuns: number
  /**
   * Delta forms of incremental runs (compiler/emit-delta.ts): `on` (the engine's), `off`, or
   * `alternate` (on for days 2, 4, …, off for days 3, 5, …: the two compared in one run).
   */
  delta: 'on' | 'off' | 'alternate'
}

function parseArgs(args: string[]): Args {
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const size = (get('size') ?? 'small') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be ${Object.keys(sizes).join(', ')}, not ${size}`)
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  const citusUrl = process.env.BENCH_CITUS_URL ?? process.env.TEST_CITUS_URL
  const engines = (
    get('engines') ?? ['pglite', pgUrl && 'postgres', citusUrl && 'citus', 'duckdb'].filter(Boolean).join(',')
  ).split(',')
  for (const e of engines)
    if (!['pglite', 'postgres', 'citus', 'duckdb'].includes(e))
      throw new Error(`--engines takes pglite, postgres, citus and duckdb, not ${e}`)
  const concurrency = get('concurrency') ?? '1'
  if (!/^[1-9][0-9]?$/.test(concurrency))
    throw new Error(`--concurrency must be an integer in [1, 99], not ${concurrency}`)
  const users = get('users') ?? String(sizes[size].users)
  if (!/^[1-9][0-9]*$/.test(users)) throw new Error(`--users must be a positive integer, not ${users}`)
  return {
    size,
    users: Number(users),
    labels: Number(get('labels') ?? 300),
    engines,
    memory: args.includes('--memory'),
    oneByOne: args.includes('--one-by-one'),
    ingestOnly: args.includes('--ingest-only'),
    days: daysArg(get('days') ?? '2'),
    layout: layoutArg(get('layout') ?? 'narrow'),
    statementsOnly: args.includes('--statements-only'),
    noStatements: args.includes('--no-statements'),
    sharedFirst: args.includes('--shared-first'),
    explain: args.includes('--explain'),
    concurrency: Number(concurrency),
    profile: args.includes('--profile'),
    incremental: args.includes('--full') ? false : args.includes('--always-restricted') ? 'always' : true,
    ...clusterArg(get('cluster')),
    vacuum: args.includes('--vacuum'),
    checkpoint: args.includes('--checkpoint'),
    batchRuns: batchRunsArg(get('batch-runs') ?? '1'),
    delta: deltaArg(get('delta') ?? 'on'),
    resultWrites: resultWritesArg(get('result-writes') ?? (args.includes('--write-changed') ? 'changed' : 'swap')),
  }
}

function clusterArg(v: string | undefined): { cluster?: 'uid' | 'time' } {
  if (v === undefined) return {}
  if (v === 'uid' || v === 'time') return { cluster: v }
  throw new Error(`--cluster must be uid or time, not ${v}`)
}

function deltaArg(v: string): Args['delta'] {
  if (v !== 'on' && v !== 'off' && v !== 'alternate') throw new Error(`--delta must be on, off or alternate, not ${v}`)
  return v
}

/** The engine's compiler without delta forms: an incremental run restricts the label's own statement. */
const withoutDelta: CompileFn = (def, { delta: _, ...ctx }) => compileWithCatalogue(def, ctx)

function batchRunsArg(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error(`--batch-runs must be an integer in [1, 100], not ${v}`)
  return n
}

function daysArg(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 2 || n > 7) throw new Error(`--days must be an integer in [2, 7], not ${v}`)
  return n
}

function layoutArg(v: string): ScanLayout {
  if (v === 'wide' || v === 'narrow') return v
  throw new Error(`--layout must be wide or narrow, not ${v}`)
}

function resultWritesArg(v: string): ResultWrites {
  if (v === 'swap' || v === 'changed' || v === 'auto') return v
  throw new Error(`--result-writes must be swap, changed or auto, not ${v}`)
}

/**
 * The events arriving before day `k`'s refresh (k ≥ 2): another seed's events (so new event ids) of
 * a typical day, 9 days before the first refresh (the demo's last days are sparse: customers drift
 * away towards its end), moved 9 + (k − 2) days later so they fall in [day k−1 − lateMs, day k): one
 * day, plus a few late events that arrive after the previous refresh although they happened before it.
 */
function* nextDay(users: number, k: number) {
  const shift = (9 + k - 2) * dayMs
  const from = dayAt(k - 1).getTime() - lateMs
  const to = dayAt(k).getTime()
  for (const e of demoEvents({ users, seed: seed + k - 1, now: day1 })) {
    const t = Date.parse(e.time as string) + shift
    if (t >= from && t < to) yield { ...e, time: new Date(t).toISOString() }
  }
}

/** The engine bench's demo files (shared cache) plus each further day's events beside them (`next[0]`: day 2). */
export async function files(users: number, days: number) {
  const f = await demoFiles(users)
  const next: string[] = []
  for (let k = 2; k <= days; k++) {
    const path = join(dirname(f.events), `events-day${k}b.ndjson`)
    if (!existsSync(path)) {
      const t = performance.now()
      const n = await writeLines(path, nextDay(users, k))
      console.log(`  generated ${n} records in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed) → ${path}`)
    }
    next.push(path)
  }
  return { ...f, next }
}

/** One file ingested through the engine bench's ingestFile: rows stored and ms; a refused ingestion throws. */
export async function ingestTimed(
  db: SqlExecutor,
  kind: 'users' | 'events',
  path: string,
): Promise<{ n: number; ms: number }> {
  const t = performance.now()
  const r = await ingestFile(db, kind, path)
  if (!r.committed) throw new Error(`ingestion rejected: ${JSON.stringify(r.errors.slice(0, 3))}`)
  return { n: kind === 'users' ? r.stored : r.inserted, ms: performance.now() - t }
}

/** One refresh of every label at asOf: ms per label and the whole. */
export interface Refresh {
  totalMs: number
  perLabel: Record<string, number>
  failed: string[]
  /** Runs that wrote their results in place (run record resultWrites = changed). */
  inPlace?: number
  /** The customers the incremental runs computed (run record recomputedUsers), summed, and how many such runs. */
  computed?: { users: number; runs: number }
}

/** Creates one run per label at asOf, as the scheduler does for a slot. */
async function createRuns(service: EngineService, labels: BenchLabel[], asOf: Date) {
  const items = []
  for (const l of labels)
    items.push({
      label: l,
      run: await service.createRun({ labelId: l.id, trigger: 'schedule', asOf: asOf.toISOString(), definition: l.def }),
    })
  return items
}

/**
 * --batch-runs K: every K runs of a worker executed in one transaction of `db`, each run under a
 * savepoint of it (as executeRun does inside a caller's transaction), with one commit for the K.
 * Straight through executeRun: the service's housekeeping before a run (pruning the change log,
 * on PGlite vacuuming, at most every 10 minutes) is left out of a batched pass.
 */
interface RunBatches {
  runs: number
  db: SqlExecutor
  execute(tx: SqlExecutor, runId: string): Promise<RunOutcome>
}

/**
 * The engine's refresh label by label: each run computed alone, `concurrency` at a time in label
 * order (the server's run queue, LABELS_CALC_CONCURRENCY; 1: one after another).
 */
export const refreshAlone =
  (concurrency: number) =>
  async (service: EngineService, labels: BenchLabel[], asOf: Date, batch?: RunBatches): Promise<Refresh> => {
    const perLabel: Record<string, number> = {}
    const failed: string[] = []
    const t0 = performance.now()
    let inPlace = 0
    const computed = { users: 0, runs: 0 }
    const queue = await createRuns(service, labels, asOf)
    const tally = (label: BenchLabel, out: RunOutcome, ms: number) => {
      perLabel[label.id] = ms
      if (out.run.status !== 'succeeded') failed.push(`${label.id}: ${out.run.error}`)
      if (out.run.resultWrites === 'changed') inPlace++
      if (typeof out.run.recomputedUsers === 'number') {
        computed.users += out.run.recomputedUsers
        computed.runs++
      }
    }
    const worker = async () => {
      if (batch) {
        // A run's time is its own statements; the batch's commit falls outside every run's.
        for (let group = queue.splice(0, batch.runs); group.length > 0; group = queue.splice(0, batch.runs))
          await batch.db.transaction(async (tx) => {
            for (const next of group) {
              const t = performance.now()
              tally(next.label, await batch.execute(tx, next.run.id), performance.now() - t)
            }
          })
        return
      }
      for (let next = queue.shift(); next; next = queue.shift()) {
        const t = performance.now()
        tally(next.label, await service.executeRunWithResults(next.run.id, { tz: 'UTC' }), performance.now() - t)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    return { totalMs: performance.now() - t0, perLabel, failed, inPlace, computed }
  }

/**
 * The engine's refresh as one batch (executeRefresh, as EngineService.refreshRuns: shared scans,
 * stored as `layout`). Per label: its run's own time (startedAt → finishedAt); the scans, built
 * before the first run, are the rest of the total.
 */
const refreshShared =
  (db: SqlExecutor, opts: { layout: ScanLayout; resultWrites: ResultWrites }) =>
  async (service: EngineService, labels: BenchLabel[], asOf: Date): Promise<Refresh> => {
    const perLabel: Record<string, number> = {}
    const failed: string[] = []
    const t0 = performance.now()
    const items = await createRuns(service, labels, asOf)
    const outs = await executeRefresh(
      db,
      items.map((i) => ({ runId: i.run.id })),
      { tz: 'UTC', ...opts },
    )
    const totalMs = performance.now() - t0
    for (const [k, o] of outs.entries()) {
      const id = (items[k] as { label: BenchLabel }).label.id
      perLabel[id] = Date.parse(o.run.finishedAt ?? '') - Date.parse(o.run.startedAt ?? '')
      if (o.run.status !== 'succeeded') failed.push(`${id}: ${o.run.error}`)
    }
    const inPlace = outs.filter((o) => o.run.resultWrites === 'changed').length
    return { totalMs, perLabel, failed, inPlace }
  }

/**
 * The labels' statements alone, without the run around them (no result table, history or
 * summary): each label's compiled SQL, against the shared scans built and each label's SQL read
 * through them, per method. Each statement's values are counted (`count(value)`: a bare count(*)
 * would let PostgreSQL drop an additive metric's LEFT JOIN to its aggregate, which no run does).
 * Alternated twice, best of each kept, so load spikes hit both sides. Without `withShared` (one
 * by one, Citus): the statements alone only, best of 2.
 */
async function computeOnly(
  db: SqlExecutor,
  labels: BenchLabel[],
  asOf: Date,
  layout: ScanLayout,
  users: number,
  withShared: boolean,
) {
  const catalogue = await loadCatalogue(db)
  const ctx = { catalogue, asOf, tz: 'UTC' }
  const count = (q: { sql: string; params: unknown[] }) => db.query(`SELECT count(value) FROM (${q.sql}) q`, q.params)
  const timed = async (l: BenchLabel, q: { sql: string; params: unknown[] }, into: Record<string, number>) => {
    const t = performance.now()
    await count(q)
    into[l.method] = (into[l.method] ?? 0) + performance.now() - t
  }
  const alone = async () => {
    const byMethod: Record<string, number> = {}
    const t = performance.now()
    for (const l of labels) await timed(l, compileRule(l.def, ctx), byMethod)
    return { ms: performance.now() - t, byMethod }
  }
  const shared = async () => {
    const byMethod: Record<string, number> = {}
    const t = performance.now()
    // as executeRefresh plans them
    const plan = planSharedScans(
      labels.map((l) => l.def),
      ctx,
      2,
      scanColumns(users),
    )
    const created: string[] = []
    try {
      const lookup = await buildScans(db, plan, created, layout)
      const scansMs = performance.now() - t
      let reading = 0
      for (const l of labels) {
        const q = compileRuleShared(l.def, ctx, lookup)
        if (/\bshared_scan_/.test(q.sql)) reading++
        await timed(l, q, byMethod)
      }
      const columns = plan.scans.reduce((n, s) => n + s.columns.size, 0)
      return { ms: performance.now() - t, scansMs, scans: plan.scans.length, columns, reading, byMethod }
    } finally {
      for (const x of created) await db.exec(`DROP TABLE IF EXISTS ${x}`)
    }
  }
  let a = { ms: Infinity, byMethod: {} as Record<string, number> }
  let b = { ms: Infinity, scansMs: 0, scans: 0, columns: 0, reading: 0, byMethod: {} as Record<string, number> }
  for (let k = 0; k < 2; k++) {
    const x = await alone()
    if (x.ms < a.ms) a = x
    if (!withShared) continue
    const y = await shared()
    if (y.ms < b.ms) b = y
  }
  return { aloneMs: a.ms, aloneByMethod: a.byMethod, sharedMs: b.ms, ...b, layout, withShared }
}

interface Pass {
  name: string
  day: number
  refresh: Refresh
  digests: Record<string, Digest>
  /** WAL the database wrote during the refresh (pg_current_wal_lsn before and after; PostgreSQL's is server-wide). */
  walBytes?: number
  /** --profile: the pass's statements by kind (label-by-label passes). */
  profile?: Profile
  /**
   * The event tables' index by time built before the pass (storage/extend.ts addTimeIndexes): the
   * first incremental runs' one-off, timed apart from the pass (which then finds it built).
   */
  timeIndexMs?: number
  /**
   * The machine's 1-minute load average as the pass ended: a pass keeps about one core busy (two
   * with --concurrency), so a clearly higher figure says something else ran beside it (compare
   * such a pass with care).
   */
  load?: number
  /** False when the pass's incremental runs were compiled without delta forms (--delta off|alternate). */
  delta?: boolean
  /** The pass's runs' time per phase, summed (runs.timings: engine/calc/run-clock.ts). */
  phases?: RunTimings
  /** Each label's run's phases (the results JSON only), and whether it computed some customers only. */
  phasesPerLabel?: Record<string, RunTimings & { restricted: boolean }>
  /** Its runs the engine marked slow (a statement 10× its phase in the label's previous run). */
  slow?: Array<SlowStatement & { labelId: string }>
}

/**
 * What the engine's own clock says of the runs created since `since` (the database's time): their
 * phases summed, and the slow ones (engine/calc/run-clock.ts).
 */
async function runClocks(
  db: SqlExecutor,
  since: string,
): Promise<{
  phases: RunTimings
  perLabel: Record<string, RunTimings & { restricted: boolean }>
  slow: Array<SlowStatement & { labelId: string }>
}> {
  const r = await db.query<{
    label_id: string
    timings: RunTimings | null
    slow: SlowStatement | null
    restricted: boolean
  }>(
    `SELECT label_id, timings, slow, recomputed_users IS NOT NULL AS restricted
       FROM runs WHERE created_at >= $1 AND status = 'succeeded' ORDER BY created_at, id`,
    [since],
  )
  const phases = noTimings()
  const perLabel: Record<string, RunTimings & { restricted: boolean }> = {}
  const slow: Array<SlowStatement & { labelId: string }> = []
  for (const row of r.rows) {
    for (const k of Object.keys(phases) as Array<keyof RunTimings>) phases[k] += row.timings?.[k] ?? 0
    perLabel[row.label_id] = { ...noTimings(), ...row.timings, restricted: row.restricted }
    if (row.slow) slow.push({ labelId: row.label_id, ...row.slow })
  }
  return { phases, perLabel, slow }
}

/**
 * The database's current WAL position (PGlite and PostgreSQL alike); on Citus every node's
 * (coordinator and workers each write their own WAL, the workers most of it), in node order.
 */
async function walLsn(db: SqlExecutor): Promise<string[]> {
  if (db.citus) {
    const r = await db.query<{ l: string; ok: boolean }>(
      `SELECT result AS l, success AS ok FROM run_command_on_all_nodes('SELECT pg_current_wal_lsn()') ORDER BY nodeid`,
    )
    const bad = r.rows.find((x) => !x.ok)
    if (bad) throw new Error(`a Citus node did not give its WAL position: ${bad.l}`)
    return r.rows.map((x) => x.l)
  }
  return [(await db.query<{ l: string }>(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0]?.l as string]
}

/** WAL written since `before` (walLsn's), summed over the nodes. */
async function walSince(db: SqlExecutor, before: string[]): Promise<number> {
  const after = await walLsn(db)
  const r = await db.query<{ b: string }>(
    `SELECT coalesce(sum(pg_wal_lsn_diff(a::pg_lsn, b::pg_lsn)), 0)::text AS b FROM unnest($1::text[], $2::text[]) AS x(a, b)`,
    [after, before],
  )
  return Number(r.rows[0]?.b)
}

/** Per kind of statement: how many were sent and their total ms. */
export type Profile = Record<string, { n: number; ms: number }>

/** A statement's kind: its start with table names, numbers and literals blanked, spaces squeezed. */
function statementKind(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/'[^']*'/g, "'…'")
    .replace(/\b(res|ev|shared_scan|ingest_stage)_?\d+\w*/g, '$1_N')
    .replace(/\b\d+\b/g, 'N')
    .slice(0, 72)
}

/** A kind's part of a run, for the profile's summary line. */
export function statementPart(kind: string): string {
  if (kind.startsWith('INSERT INTO res_N')) return 'compute (INSERT INTO res_N SELECT …)'
  // calc/result-swap.ts applyChanges: the values computed (restricted, in an incremental run) and
  // only those that differ written into the label's table, one statement.
  if (kind.startsWith('WITH run_values AS')) return 'compute, written in place (WITH run_values …)'
  if (kind.startsWith('INSERT INTO labels_affected') || kind === 'ANALYZE labels_affected')
    return 'collect the changed customers (labels_affected)'
  if (kind.includes('create_distributed_table')) return 'create_distributed_table'
  if (/^(CREATE|ALTER|DROP|TRUNCATE) /.test(kind)) return 'other DDL'
  if (kind === '(commit)' || kind === '(begin)') return 'begin + commit'
  return 'the rest (runs, history, summary, catalogue)'
}

/**
 * The database with every statement it runs (in and out of transactions) timed into `into` by
 * kind; a transaction's COMMIT (or ROLLBACK) is timed as its own kind, `(commit)`: on Citus it is
 * the two-phase commit across the workers.
 */
export function profiling(db: SqlExecutor, into: Profile): SqlExecutor {
  const add = (kind: string, ms: number) => {
    const x = (into[kind] ??= { n: 0, ms: 0 })
    x.n++
    x.ms += ms
  }
  const timed =
    (f: (sql: string, ...rest: unknown[]) => Promise<unknown>) =>
    async (sql: string, ...rest: unknown[]) => {
      const t = performance.now()
      try {
        return await f(sql, ...rest)
      } finally {
        add(statementKind(sql), performance.now() - t)
      }
    }
  return new Proxy(db, {
    get(target, key) {
      if (key === 'query' || key === 'exec')
        return timed((target[key] as (...a: unknown[]) => Promise<unknown>).bind(target))
      if (key === 'transaction')
        return async <T>(fn: (tx: SqlExecutor) => Promise<T>) => {
          // BEGIN (with taking a connection) and the commit or rollback: the transaction's time
          // outside its statements.
          let bodyStart = 0
          let bodyEnd = 0
          const t = performance.now()
          try {
            return await target.transaction(async (tx) => {
              bodyStart = performance.now()
              try {
                return await fn(profiling(tx, into))
              } finally {
                bodyEnd = performance.now()
              }
            })
          } finally {
            add('(begin)', (bodyStart || performance.now()) - t)
            if (bodyEnd) add('(commit)', performance.now() - bodyEnd)
          }
        }
      const v = Reflect.get(target, key)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}

/**
 * EXPLAIN ANALYZE of the first label of each method's compiled statement, as a run reads it
 * (without the INSERT and the run around it). On Citus the plan shows the distributed part: the
 * task count and the slowest task's own plan and time on its worker.
 */
async function explainLabels(db: SqlExecutor, labels: BenchLabel[], asOf: Date): Promise<Record<string, string>> {
  const ctx = { catalogue: await loadCatalogue(db), asOf, tz: 'UTC' }
  const out: Record<string, string> = {}
  for (const method of new Set(labels.map((l) => l.method))) {
    const l = labels.find((x) => x.method === method) as BenchLabel
    const q = compileRule(l.def, ctx)
    // Wrapped as the run's INSERT … SELECT reads it (a top-level DISTINCT ON would be done again on the coordinator).
    const r = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, COSTS off) SELECT uid, value FROM (${q.sql}) AS src`,
      q.params,
    )
    out[`day 1: ${method} ${l.id} (${l.shape})`] = r.rows.map((x) => x['QUERY PLAN']).join('\n')
  }
  return out
}

/**
 * --cluster uid|time: every event table rewritten in customer order or in time order (and analysed as
 * ingestion would).
 * The demo's files list each customer's events together, so a load keeps one customer's events on a
 * page or two; files of daily exports list them by time, a customer's events spread over the table,
 * which `time` reproduces: how the incremental runs' restricted statements read a few percent of
 * the customers depends on it.
 */
async function clusterEvents(db: SqlExecutor, engine: string, by: 'uid' | 'time'): Promise<void> {
  const t = performance.now()
  const tables = await db.query<{ tbl: string }>('SELECT tbl FROM catalogue_events ORDER BY id')
  // The index by time waits for the first incremental run (engine/storage/extend.ts): built here
  // to order the tables by it (its time is not the refresh's).
  if (by === 'time') await addTimeIndexes(db)
  for (const { tbl } of tables.rows) {
    if (!/^ev[0-9]+$/.test(tbl)) throw new Error(`unexpected event table ${tbl}`)
    await db.query(`CLUSTER ${tbl} USING ${tbl}_${by}`)
    // As ingestion leaves a table it loaded in this order: analysed with its sample (engine/ingest/store.ts).
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL default_statistics_target = ${INGEST_STATISTICS_TARGET}`)
      await tx.exec(`ANALYZE ${tbl}`)
    })
  }
  console.log(
    `  [${engine}] clustered ${tables.rows.length} event tables by ${by} in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  )
}

/** --checkpoint: every page the work before a pass dirtied written out (and on Citus on every node), untimed. */
async function checkpoint(db: SqlExecutor, engine: string): Promise<void> {
  const t = performance.now()
  await db.exec('CHECKPOINT')
  if (db.citus) await db.query(`SELECT run_command_on_workers('CHECKPOINT')`)
  console.log(`  [${engine}] checkpoint (untimed): ${((performance.now() - t) / 1000).toFixed(1)} s`)
}

/** --vacuum: users and every event table vacuumed and analysed (outside a transaction). */
async function vacuumTables(db: SqlExecutor, engine: string): Promise<void> {
  const t = performance.now()
  const tables = await db.query<{ tbl: string }>('SELECT tbl FROM catalogue_events ORDER BY id')
  for (const tbl of ['users', ...tables.rows.map((r) => r.tbl)]) {
    if (!/^(users|ev[0-9]+)$/.test(tbl)) throw new Error(`unexpected table ${tbl}`)
    await db.exec(`VACUUM (ANALYZE) ${tbl}`)
  }
  console.log(
    `  [${engine}] vacuumed users and ${tables.rows.length} event tables in ${((performance.now() - t) / 1000).toFixed(1)} s`,
  )
}

/** Thrown to roll back a transaction that only looked. */
const LOOKED = new Error('rolled back: only looked')

/**
 * --explain on a later day, before its pass: EXPLAIN ANALYZE of the first label of each method's
 * statement as its incremental run computes it (restricted to the customers that run would compute,
 * collected the same way), in a transaction rolled back afterwards.
 */
async function explainRestricted(
  db: SqlExecutor,
  labels: BenchLabel[],
  asOf: Date,
  day: number,
): Promise<Record<string, string>> {
  const ctx = { catalogue: await loadCatalogue(db), asOf, tz: 'UTC', only: AFFECTED_TABLE }
  const out: Record<string, string> = {}
  // One label per method, and the first with a delta form (compiler/emit-delta.ts) of each method
  // that has one: its plan restricted as before and as the delta statement runs.
  const picked = [...new Set(labels.map((l) => l.method))].map((m) => labels.find((x) => x.method === m) as BenchLabel)
  for (const method of ['metric', 'first_last'] as const) {
    const d = labels.find(
      (x) =>
        x.def.rule.method === method &&
        compileRule(x.def, {
          ...ctx,
          delta: { baseAsOf: day1, stored: 'res_0', affected: AFFECTED_TABLE, recompute: RECOMPUTE_TABLE },
        }).delta,
    )
    if (d && !picked.includes(d)) picked.push(d)
  }
  for (const l of picked) {
    const name = `day ${day}, restricted: ${l.method} ${l.id} (${l.shape})`
    await db
      .transaction(async (tx) => {
        const base = await incrementalBase(tx, l.id, l.def, 'UTC')
        const delta = base
          ? { baseAsOf: base.asOf, stored: base.table, affected: AFFECTED_TABLE, recompute: RECOMPUTE_TABLE }
          : undefined
        const plain = compileRule(l.def, ctx)
        const q = delta ? compileRule(l.def, { ...ctx, delta }) : plain
        if (!base || !q.scopes) {
          out[name] = 'no incremental run (no base or no scopes)'
          throw LOOKED
        }
        const a = await collectAffected(tx, base, q.scopes, asOf, 'UTC', q.delta === true)
        for (const [how, s] of q.delta
          ? ([
              ['', plain],
              [', delta form', q],
            ] as const)
          : ([['', q]] as const)) {
          const r = await tx.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (ANALYZE, COSTS off) SELECT uid, value FROM (${s.sql}) AS src`,
            s.params,
          )
          const of = how ? ` (${a.recomputed} from their events)` : ''
          out[`${name}${how}, ${a.count} customers${of}`] = r.rows.map((x) => x['QUERY PLAN']).join('\n')
        }
        throw LOOKED
      })
      .catch((e) => {
        if (e !== LOOKED) throw e
      })
  }
  return out
}

interface EngineResult {
  engine: string
  usersMs: number
  eventsMs: number
  events: number
  day2Ms: number
  day2Events: number
  passes: Pass[]
  compute?: Awaited<ReturnType<typeof computeOnly>>
  /** --explain: plan text per label (one per method). */
  plans?: Record<string, string>
  /** The settings in force that move a refresh's time and WAL (serverSettings); absent for PGlite and DuckDB. */
  server?: Record<string, string>
}

/**
 * The settings a refresh's figures depend on, as the bench's connection has them (PostgreSQL and
 * Citus; PGlite's are fixed): the server's WAL level and commit, cache sizes and checkpoints, and
 * the engine's own session settings (`jit`). Printed and kept in the results JSON, so that passes
 * measured under different server settings can be told apart (README "Benchmarks", "The server's
 * WAL level, and result tables without WAL").
 */
const serverSettingNames = [
  'server_version',
  'wal_level',
  'synchronous_commit',
  'full_page_writes',
  'wal_compression',
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'max_wal_size',
  'checkpoint_timeout',
  'jit',
] as const

async function serverSettings(db: SqlExecutor): Promise<Record<string, string>> {
  const r = await db.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
    [serverSettingNames],
  )
  return Object.fromEntries(r.rows.map((x) => [x.name, x.setting]))
}

export async function digestsOf(db: SqlExecutor, labels: BenchLabel[]): Promise<Record<string, Digest>> {
  const out: Record<string, Digest> = {}
  for (const l of labels) out[l.id] = await engineDigest(db, l.id, l.def.dataType)
  return out
}

async function benchEngine(
  engine: string,
  f: Awaited<ReturnType<typeof files>>,
  labels: BenchLabel[],
  args: Args,
): Promise<EngineResult> {
  const { db, cleanup } = await open(engine, args.memory)
  try {
    // The engine computes each label alone on Citus (executeRefresh): no shared-scans pass there.
    const oneByOne = args.oneByOne || db.citus === true
    if (db.citus && !args.oneByOne) console.log(`  [${engine}] Citus: label by label only (no shared scans there)`)
    const service = new EngineService(db, { resultWrites: args.resultWrites, incremental: args.incremental })
    await service.migrate()
    const server = db.kind === 'postgres' ? await serverSettings(db) : undefined
    if (server)
      console.log(
        `  [${engine}] settings in force: ${Object.entries(server)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      )
    console.log(`  [${engine}] ingesting…`)
    const u = await ingestTimed(db, 'users', f.users)
    const e = await ingestTimed(db, 'events', f.events)
    if (args.cluster) await clusterEvents(db, engine, args.cluster)
    if (args.vacuum) await vacuumTables(db, engine)
    const passes: Pass[] = []
    let compute: Awaited<ReturnType<typeof computeOnly>> | undefined
    if (!args.noStatements) {
      console.log(
        `  [${engine}] statements only, ${oneByOne ? 'alone' : `alone and through shared scans (${args.layout})`}…`,
      )
      compute = await computeOnly(db, labels, day1, args.layout, args.users, !oneByOne)
    }
    if (args.statementsOnly)
      return {
        engine,
        usersMs: u.ms,
        eventsMs: e.ms,
        events: e.n,
        day2Ms: 0,
        day2Events: 0,
        passes,
        ...(compute ? { compute } : {}),
        ...(server ? { server } : {}),
      }
    const alone = refreshAlone(args.concurrency)
    // A later day's first incremental run would build the index by time (once); built before it
    // instead, and timed apart, so the pass shows the days that follow.
    const timeIndexes = async (): Promise<number | undefined> => {
      if (args.incremental === false || args.resultWrites === 'swap') return undefined
      const ix = await addTimeIndexes(db)
      if (ix.tables.length === 0) return undefined
      console.log(`  [${engine}] index by time of ${ix.tables.length} event tables (one-off): ${sec(ix.ms)} s`)
      return ix.ms
    }
    const pass = async (name: string, day: number, how: ReturnType<typeof refreshAlone>, timeIndexMs?: number) => {
      if (args.checkpoint) await checkpoint(db, engine)
      console.log(`  [${engine}] ${name}: ${labels.length} labels…`)
      const lsn = await walLsn(db)
      // executeRefresh (shared scans) runs on `db` itself: only label-by-label passes are profiled.
      const profile: Profile | undefined = args.profile && how === alone ? {} : undefined
      const delta = args.delta === 'on' || (args.delta === 'alternate' && day % 2 === 0)
      if (day > 1 && args.delta !== 'on') console.log(`  [${engine}] ${name}: delta forms ${delta ? 'on' : 'off'}`)
      const runDb = profile ? profiling(db, profile) : db
      // A service of its own per pass: a day has passed since the last one, so its first run does
      // the housekeeping a server does then (EngineService.pruneLog: the change log pruned, at most
      // every 10 minutes, which the passes of one bench are closer than).
      const through = new EngineService(runDb, {
        resultWrites: args.resultWrites,
        incremental: args.incremental,
        ...(delta ? {} : { compile: withoutDelta }),
      })
      const compile: CompileFn = delta ? compileWithCatalogue : withoutDelta
      const batch: RunBatches | undefined =
        args.batchRuns > 1 && how === alone
          ? {
              runs: args.batchRuns,
              db: runDb,
              execute: (tx, runId) =>
                executeRun(tx, runId, {
                  tz: 'UTC',
                  compile,
                  resultWrites: args.resultWrites,
                  incremental: args.incremental,
                }),
            }
          : undefined
      const since = (await db.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`)).rows[0]?.t as string
      const refresh = await how(through, labels, dayAt(day), batch)
      const load = loadavg()[0] // as the refresh ended, before the digests below are read
      const walBytes = await walSince(db, lsn)
      const clocks = await runClocks(db, since)
      const p = clocks.phases
      console.log(
        `  [${engine}] ${name}: runs' phases prepare ${sec(p.prepareMs)} · collect ${sec(p.collectMs)} · compute ${sec(p.computeMs)} · history ${sec(p.historyMs)} · summary ${sec(p.summaryMs)} s`,
      )
      for (const s of clocks.slow)
        console.log(
          `  [${engine}] ${name}: SLOW ${s.labelId}: a ${s.phase} statement took ${sec(s.ms)} s against ${sec(s.usualMs)} s (its plan: runs.slow_plan)`,
        )
      passes.push({
        name,
        day,
        refresh,
        digests: await digestsOf(db, labels),
        walBytes,
        phases: clocks.phases,
        phasesPerLabel: clocks.perLabel,
        slow: clocks.slow,
        load,
        ...(profile ? { profile } : {}),
        ...(timeIndexMs !== undefined ? { timeIndexMs } : {}),
        ...(day > 1 ? { delta } : {}),
      })
    }
    const shared = refreshShared(db, { layout: args.layout, resultWrites: args.resultWrites })
    if (args.sharedFirst && !oneByOne) await pass('day 1, shared scans', 1, shared)
    await pass('day 1, label by label', 1, alone)
    if (!args.sharedFirst && !oneByOne) await pass('day 1, shared scans', 1, shared)
    let plans: Record<string, string> | undefined
    if (args.explain) {
      console.log(`  [${engine}] EXPLAIN ANALYZE, one label per method…`)
      plans = await explainLabels(db, labels, day1)
    }
    let d2 = { n: 0, ms: 0 }
    for (const [i, path] of f.next.entries()) {
      const d = await ingestTimed(db, 'events', path)
      if (i === 0) d2 = d
      console.log(`  [${engine}] one more day of events: ${d.n}`)
      const timeIndexMs = await timeIndexes()
      if (args.explain && oneByOne && args.incremental && args.resultWrites !== 'swap')
        plans = { ...plans, ...(await explainRestricted(db, labels, dayAt(i + 2), i + 2)) }
      if (oneByOne) await pass(`day ${i + 2}, label by label`, i + 2, alone, timeIndexMs)
      else await pass(`day ${i + 2}, shared scans`, i + 2, shared, timeIndexMs)
    }
    return {
      engine,
      usersMs: u.ms,
      eventsMs: e.ms,
      events: e.n,
      day2Ms: d2.ms,
      day2Events: d2.n,
      passes,
      ...(compute ? { compute } : {}),
      ...(plans ? { plans } : {}),
      ...(server ? { server } : {}),
    }
  } finally {
    await cleanup()
  }
}

async function benchDuck(f: Awaited<ReturnType<typeof files>>, labels: BenchLabel[]): Promise<EngineResult> {
  const d = await openDuck()
  try {
    console.log('  [duckdb] loading…')
    let t = performance.now()
    await loadDuckUsers(d, f.users)
    const usersMs = performance.now() - t
    t = performance.now()
    const events = await loadDuckEvents(d, f.events)
    const eventsMs = performance.now() - t
    const run = async (asOf: Date): Promise<Refresh> => {
      const perLabel: Record<string, number> = {}
      const failed: string[] = []
      const t0 = performance.now()
      for (const l of labels) {
        try {
          perLabel[l.id] = await runDuckLabel(d, l, asOf)
        } catch (e) {
          failed.push(`${l.id}: ${(e as Error).message}`)
        }
      }
      return { totalMs: performance.now() - t0, perLabel, failed }
    }
    const digests = async () => {
      const out: Record<string, Digest> = {}
      for (const l of labels) out[l.id] = await duckDigest(d, l).catch(() => ({ rows: -1 }))
      return out
    }
    console.log(`  [duckdb] refreshing ${labels.length} labels…`)
    const passes: Pass[] = []
    passes.push({ name: 'day 1', day: 1, refresh: await run(day1), load: loadavg()[0], digests: await digests() })
    let day2Events = 0
    let day2Ms = 0
    for (const [i, path] of f.next.entries()) {
      t = performance.now()
      const n = await loadDuckEvents(d, path)
      if (i === 0) [day2Events, day2Ms] = [n, performance.now() - t]
      const refresh = await run(dayAt(i + 2))
      passes.push({ name: `day ${i + 2}`, day: i + 2, refresh, load: loadavg()[0], digests: await digests() })
    }
    return { engine: 'duckdb', usersMs, eventsMs, events, day2Ms, day2Events, passes }
  } finally {
    d.close()
  }
}

export function table(rows: Array<Record<string, unknown>>): void {
  const first = rows[0]
  if (!first) return
  const keys = Object.keys(first)
  const cells = [keys, ...rows.map((r) => keys.map((k) => String(r[k] ?? '')))]
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)))
  for (const c of cells) console.log('  ' + c.map((x, i) => x.padStart(widths[i] ?? 0)).join('  '))
}

export const sec = (ms: number) => (ms / 1000).toFixed(2)

/** Ingestion alone: binary COPY staging against unnest staging, on each engine, alternated. */
async function benchIngestModes(args: Args, f: Awaited<ReturnType<typeof files>>): Promise<void> {
  const rows = []
  for (const engine of args.engines.filter((e) => e !== 'duckdb'))
    for (const mode of ['unnest', 'binary COPY', 'unnest', 'binary COPY']) {
      const { db, cleanup } = await open(engine, args.memory)
      try {
        const x: SqlExecutor = mode === 'unnest' ? { ...db, copyFrom: undefined } : db
        await new EngineService(x).migrate()
        const u = await ingestTimed(x, 'users', f.users)
        const e = await ingestTimed(x, 'events', f.events)
        rows.push({
          engine,
          staging: mode,
          usersSec: sec(u.ms),
          eventsSec: sec(e.ms),
          events: e.n,
          eventsPerSec: Math.round(e.n / (e.ms / 1000)),
        })
        console.log(`  [${engine}] ${mode}: events ${sec(e.ms)} s`)
      } finally {
        await cleanup()
      }
    }
  console.log('\ningestion by staging path (NDJSON through the Ingestor, parse worker)')
  table(rows)
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  const { users } = args
  if (args.ingestOnly) return benchIngestModes(args, await files(users, 1))
  const labels = refreshWorkspace(args.labels, day1)
  const methods = [...new Set(labels.map((l) => l.method))]
  const days = `${args.days} days, result writes ${args.resultWrites}, ${args.concurrency} run(s) at once${args.batchRuns > 1 ? ` (${args.batchRuns} to a transaction)` : ''}, ${args.incremental === 'always' ? 'always restricted' : args.incremental ? 'incremental' : 'full'} runs`
  console.log(
    `refresh bench: size ${args.size}${users === sizes[args.size].users ? '' : ' --users'} (${users} users, ~${users * 10} events), ${labels.length} labels (${methods
      .map((m) => `${labels.filter((l) => l.method === m).length} ${m}`)
      .join(', ')}), engines ${args.engines.join(', ')}, ${days}, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  const f = await files(users, args.days)
  const results: EngineResult[] = []
  // DuckDB first: its digests are the reference the others are checked against.
  if (args.engines.includes('duckdb')) results.push(await benchDuck(f, labels))
  for (const engine of args.engines.filter((e) => e !== 'duckdb'))
    results.push(await benchEngine(engine, f, labels, args))

  const duck = results.find((r) => r.engine === 'duckdb')
  console.log('\nloading (NDJSON files; the engines through the Ingestor: parse worker, all-or-nothing, one commit)')
  table(
    results.map((r) => ({
      engine: r.engine,
      usersSec: sec(r.usersMs),
      eventsSec: sec(r.eventsMs),
      events: r.events,
      eventsPerSec: Math.round(r.events / (r.eventsMs / 1000)),
      day2Sec: sec(r.day2Ms),
      day2Events: r.day2Events,
    })),
  )
  const byMethod = (r: Refresh, m: string) =>
    labels.filter((l) => l.method === m).reduce((s, l) => s + (r.perLabel[l.id] ?? 0), 0)
  const duckOf = (day: number) => duck?.passes.find((p) => p.day === day)
  const rows: Array<Record<string, unknown>> = []
  for (const r of results)
    for (const p of r.passes) {
      const ref = r === duck ? undefined : duckOf(p.day)?.refresh
      const row: Record<string, unknown> = { engine: r.engine, pass: p.name }
      for (const m of methods) {
        const s = byMethod(p.refresh, m)
        row[m] = sec(s) + (ref ? ` (${(s / byMethod(ref, m)).toFixed(1)}×)` : '')
      }
      const labelsMs = labels.reduce((s, l) => s + (p.refresh.perLabel[l.id] ?? 0), 0)
      // With runs at once (--concurrency) their times overlap: nothing is left outside them to show.
      row.scansEtc = args.concurrency > 1 && r !== duck ? '-' : sec(p.refresh.totalMs - labelsMs)
      row.total = sec(p.refresh.totalMs) + (ref ? ` (${(p.refresh.totalMs / ref.totalMs).toFixed(1)}×)` : '')
      row.walMB = p.walBytes === undefined ? '-' : (p.walBytes / 1e6).toFixed(1)
      row.timeIndex = p.timeIndexMs === undefined ? '-' : sec(p.timeIndexMs)
      row.inPlace = p.refresh.inPlace ?? '-'
      const c = p.refresh.computed
      row.computed = c?.runs ? `${c.runs} × ${Math.round(c.users / c.runs)}` : '-'
      row.failed = p.refresh.failed.length
      row.load = p.load === undefined ? '-' : p.load.toFixed(1)
      rows.push(row)
    }
  console.log(
    `\nrefresh: seconds per method (sum of its labels' runs), the rest of the refresh (shared scans, run bookkeeping), the whole, and the WAL written meanwhile (PostgreSQL's: server-wide; Citus: all its nodes'); (×) = ÷ DuckDB's same day; timeIndex: the event tables' index by time, built once before the first incremental day (not in its total); computed: incremental runs × the customers each computed on average; load: the machine's 1-minute load average as the pass ended (a pass keeps about one core busy: a much higher figure means something else ran beside it)`,
  )
  table(rows)
  console.log('\na later day ÷ the first day (target ≤ 20% for the engines)')
  table(
    results.flatMap((r) =>
      r.passes
        .filter((p) => p.day > 1)
        .map((later) => {
          const pct = (name: string) => {
            const first = r.passes.find((p) => p.name === name)?.refresh.totalMs
            return first ? `${((100 * later.refresh.totalMs) / first).toFixed(0)}%` : '-'
          }
          return {
            engine: r.engine,
            day: later.day,
            '÷ day 1': pct('day 1'),
            '÷ day 1 label by label': pct('day 1, label by label'),
            '÷ day 1 shared': pct('day 1, shared scans'),
          }
        }),
    ),
  )
  console.log(
    `\nthe labels' statements only (count(value) of each, no run around them), day 1, best of 2 alternated: alone vs shared scans (the scans built, then every label read through them; per method: its labels' statements); DuckDB's whole refresh for scale`,
  )
  table(
    results
      .filter((r) => r.compute)
      .flatMap((r) => {
        const c = r.compute as NonNullable<EngineResult['compute']>
        const perMethod = (by: Record<string, number>) => Object.fromEntries(methods.map((m) => [m, sec(by[m] ?? 0)]))
        const aloneRow = {
          engine: r.engine,
          how: 'alone',
          ...perMethod(c.aloneByMethod),
          scans: '-',
          total: sec(c.aloneMs),
          '÷ alone': '',
        }
        if (!c.withShared) return [aloneRow]
        return [
          aloneRow,
          {
            engine: r.engine,
            how: `shared (${c.layout})`,
            ...perMethod(c.byMethod),
            scans: `${sec(c.scansMs)} (${c.scans} scans, ${c.columns} measures, read by ${c.reading} labels)`,
            total: sec(c.sharedMs),
            '÷ alone': (c.sharedMs / c.aloneMs).toFixed(2),
          },
        ]
      }),
  )
  if (duck) console.log(`  DuckDB's whole refresh, day 1: ${sec(duck.passes[0]?.refresh.totalMs ?? 0)} s`)
  for (const r of results)
    for (const p of r.passes) {
      if (!p.profile) continue
      const total = Object.values(p.profile).reduce((t, x) => t + x.ms, 0)
      const parts: Record<string, number> = {}
      for (const [kind, x] of Object.entries(p.profile))
        parts[statementPart(kind)] = (parts[statementPart(kind)] ?? 0) + x.ms
      console.log(
        `\n${p.name} on ${r.engine}: ${sec(total)} s of statements: ${Object.entries(parts)
          .sort((a, b) => b[1] - a[1])
          .map(([part, ms]) => `${part} ${sec(ms)} s (${((100 * ms) / total).toFixed(0)}%)`)
          .join(', ')}; the top 15 kinds:`,
      )
      table(
        Object.entries(p.profile)
          .sort((a, b) => b[1].ms - a[1].ms)
          .slice(0, 15)
          .map(([kind, x]) => ({ sec: sec(x.ms), '%': ((100 * x.ms) / total).toFixed(1), n: x.n, kind })),
      )
    }
  for (const r of results)
    for (const [label, plan] of Object.entries(r.plans ?? {}))
      console.log(`\nEXPLAIN ANALYZE [${r.engine}] ${label}\n${plan.replace(/^/gm, '  ')}`)
  for (const r of results)
    for (const p of r.passes) for (const x of p.refresh.failed) console.log(`  FAILED [${r.engine}, ${p.name}] ${x}`)
  if (duck) {
    console.log('\nresults against DuckDB (rows and value counts, or sums)')
    const same = []
    for (const r of results.filter((x) => x !== duck))
      for (const p of r.passes) {
        const ref = duckOf(p.day)?.digests ?? {}
        const bad = labels.filter((l) => !sameDigest(p.digests[l.id] as Digest, ref[l.id] as Digest))
        same.push({ engine: r.engine, pass: p.name, labelsSame: `${labels.length - bad.length}/${labels.length}` })
        for (const l of bad.slice(0, 5))
          console.log(
            `  DIFFERS [${r.engine}, ${p.name}] ${l.id} (${l.method}, ${l.shape}): ${JSON.stringify(p.digests[l.id]).slice(0, 160)} vs duckdb ${JSON.stringify(ref[l.id]).slice(0, 160)}`,
          )
      }
    table(same)
  } else
    console.log(
      '\nresults NOT checked: DuckDB is not among --engines (the labels are compared with its results only when it runs in the same invocation)',
    )
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const out = join(import.meta.dirname, 'results', `refresh-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    out,
    JSON.stringify(
      {
        size: args.size,
        users,
        labels: labels.length,
        load: loadavg(),
        results: results.map((r) => ({ ...r, passes: r.passes.map((p) => ({ ...p, digests: undefined })) })),
        shapes: labels.map((l) => ({ id: l.id, method: l.method, shape: l.shape })),
      },
      null,
      2,
    ),
  )
  console.log(`\nwrote ${out}`)
}
