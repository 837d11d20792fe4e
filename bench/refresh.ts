// npm run bench -- refresh [--size tiny|small|large|huge] [--labels 300] [--engines pglite,postgres,duckdb]
//                          [--memory] [--one-by-one]
//
// Issue 10's daily refresh: a seeded workspace of 300 dynamic labels due at the same slot
// (bench/refresh-workspace.ts) refreshed over the demo shop's events on PGlite and PostgreSQL
// (PostgreSQL when BENCH_DATABASE_URL or TEST_DATABASE_URL is set) through the engine's run path
// (compile, result table, history snapshot, summary, swap), against the peer: DuckDB running the
// same labels' hand-written SQL one by one on the same files. Then one more day of events
// arrives (with a few late ones from the hours before the first refresh) and the labels are
// refreshed again at the next day's slot. Sizes: tiny 100k events, small 1M (default), large
// 10M, huge 100M. Every label's results are checked against DuckDB's (row count and value
// counts or sums); a mismatch is printed.
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPglite } from '../engine/adapters/pglite.ts'
import { openPostgres } from '../engine/adapters/pg.ts'
import { demoEvents, demoUsers } from '../engine/demo/index.ts'
import { Ingestor } from '../engine/ingest/index.ts'
import { EngineService } from '../engine/service.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import { engineDigest, sameDigest, type Digest } from './refresh-digest.ts'
import { duckDigest, loadDuckEvents, loadDuckUsers, openDuck, runDuckLabel } from './refresh-duckdb.ts'
import { refreshWorkspace, type BenchLabel } from './refresh-workspace.ts'

const sizes = {
  tiny: { users: 10_000 },
  small: { users: 100_000 },
  large: { users: 1_000_000 },
  huge: { users: 10_000_000 },
} as const
const seed = 1
const now = '2025-06-01T00:00:00.000Z'
const day1 = new Date(now)
const dayMs = 86_400_000
const day2 = new Date(day1.getTime() + dayMs)
/** Events of the second day that arrive late: up to this long before the first refresh. */
const lateMs = 2 * 3_600_000

interface Args {
  size: keyof typeof sizes
  labels: number
  engines: string[]
  memory: boolean
  oneByOne: boolean
}

function parseArgs(args: string[]): Args {
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const size = (get('size') ?? 'small') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be ${Object.keys(sizes).join(', ')}, not ${size}`)
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  const engines = (get('engines') ?? (pgUrl ? 'pglite,postgres,duckdb' : 'pglite,duckdb')).split(',')
  return {
    size,
    labels: Number(get('labels') ?? 300),
    engines,
    memory: args.includes('--memory'),
    oneByOne: args.includes('--one-by-one'),
  }
}

async function writeLines(path: string, records: Iterable<unknown>): Promise<number> {
  const out = createWriteStream(path + '.part')
  let n = 0
  let buf = ''
  for (const r of records) {
    buf += JSON.stringify(r) + '\n'
    n++
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain')
      buf = ''
    }
  }
  out.end(buf)
  await once(out, 'finish')
  renameSync(path + '.part', path)
  return n
}

/**
 * The next day's events: another seed's events (so new event ids) of a typical day, 9 days before
 * the first refresh (the demo's last days are sparse: customers drift away towards its end), moved
 * 9 days later so they fall in [day1 − lateMs, day2): one day, plus a few late events that arrive
 * after the first refresh although they happened before it.
 */
function* nextDay(users: number) {
  const shift = 9 * dayMs
  for (const e of demoEvents({ users, seed: seed + 1, now: day1 })) {
    const t = Date.parse(e.time as string) + shift
    if (t >= day1.getTime() - lateMs && t < day2.getTime()) yield { ...e, time: new Date(t).toISOString() }
  }
}

/** The demo files (the engine bench's cache directory, so both share them) plus the next day's events. */
async function files(users: number) {
  const dir = join(tmpdir(), `labels-bench-demo-${users}-${seed}`)
  mkdirSync(dir, { recursive: true })
  const f = {
    users: join(dir, 'users.ndjson'),
    events: join(dir, 'events.ndjson'),
    day2: join(dir, 'events-day2b.ndjson'),
  }
  const gen = async (path: string, records: Iterable<unknown>) => {
    if (existsSync(path)) return
    const t = performance.now()
    const n = await writeLines(path, records)
    console.log(`  generated ${n} records in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed) → ${path}`)
  }
  await gen(f.users, demoUsers({ users, seed, now }))
  await gen(f.events, demoEvents({ users, seed, now }))
  await gen(f.day2, nextDay(users))
  return f
}

async function ingestFile(db: SqlExecutor, kind: 'users' | 'events', path: string): Promise<{ n: number; ms: number }> {
  const t = performance.now()
  const ing = new Ingestor(db, kind, 'ndjson', { parse: 'worker' })
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }))
    await ing.push(chunk as string)
  const r = await ing.finish()
  if (!r.committed) throw new Error(`ingestion rejected: ${JSON.stringify(r.errors.slice(0, 3))}`)
  return { n: kind === 'users' ? r.stored : r.inserted, ms: performance.now() - t }
}

async function open(engine: string, memory: boolean): Promise<{ db: SqlExecutor; cleanup: () => Promise<void> }> {
  if (engine === 'pglite') {
    const dir = memory ? undefined : mkdtempSync(join(tmpdir(), 'labels-bench-pglite-'))
    const db = await openPglite(dir)
    return {
      db,
      cleanup: async () => {
        await db.close()
        if (dir) rmSync(dir, { recursive: true, force: true })
      },
    }
  }
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  if (!url) throw new Error('postgres needs BENCH_DATABASE_URL or TEST_DATABASE_URL')
  const schema = `bench_refresh_${Date.now().toString(36)}`
  const admin = await openPostgres(url, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  const db = await openPostgres(url, { schema, max: 4 })
  return {
    db,
    cleanup: async () => {
      await db.close()
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
      await admin.close()
    },
  }
}

/** One refresh of every label at asOf: ms per label and the whole. */
interface Refresh {
  totalMs: number
  perLabel: Record<string, number>
  failed: string[]
}

/** The engine's refresh: one run per label, executed in turn (what the run queue does with concurrency 1). */
async function refreshEngine(service: EngineService, labels: BenchLabel[], asOf: Date): Promise<Refresh> {
  const perLabel: Record<string, number> = {}
  const failed: string[] = []
  const t0 = performance.now()
  for (const l of labels) {
    const t = performance.now()
    const run = await service.createRun({
      labelId: l.id,
      trigger: 'schedule',
      asOf: asOf.toISOString(),
      definition: l.def,
    })
    const out = await service.executeRunWithResults(run.id, { tz: 'UTC' })
    perLabel[l.id] = performance.now() - t
    if (out.run.status !== 'succeeded') failed.push(`${l.id}: ${out.run.error}`)
  }
  return { totalMs: performance.now() - t0, perLabel, failed }
}

interface EngineResult {
  engine: string
  usersMs: number
  eventsMs: number
  events: number
  day2Ms: number
  day2Events: number
  refresh1: Refresh
  refresh2: Refresh
  digests1: Record<string, Digest>
  digests2: Record<string, Digest>
}

async function digestsOf(db: SqlExecutor, labels: BenchLabel[]): Promise<Record<string, Digest>> {
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
    const service = new EngineService(db)
    await service.migrate()
    console.log(`  [${engine}] ingesting…`)
    const u = await ingestFile(db, 'users', f.users)
    const e = await ingestFile(db, 'events', f.events)
    console.log(`  [${engine}] refreshing ${labels.length} labels at ${day1.toISOString()}…`)
    const refresh1 = await refreshEngine(service, labels, day1)
    const digests1 = await digestsOf(db, labels)
    const d2 = await ingestFile(db, 'events', f.day2)
    console.log(`  [${engine}] one more day of events (${d2.n}); refreshing at ${day2.toISOString()}…`)
    const refresh2 = await refreshEngine(service, labels, day2)
    const digests2 = await digestsOf(db, labels)
    return {
      engine,
      usersMs: u.ms,
      eventsMs: e.ms,
      events: e.n,
      day2Ms: d2.ms,
      day2Events: d2.n,
      refresh1,
      refresh2,
      digests1,
      digests2,
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
    const refresh1 = await run(day1)
    const digests1 = await digests()
    t = performance.now()
    const day2Events = await loadDuckEvents(d, f.day2)
    const day2Ms = performance.now() - t
    const refresh2 = await run(day2)
    const digests2 = await digests()
    return { engine: 'duckdb', usersMs, eventsMs, events, day2Ms, day2Events, refresh1, refresh2, digests1, digests2 }
  } finally {
    d.close()
  }
}

function table(rows: Array<Record<string, unknown>>): void {
  const first = rows[0]
  if (!first) return
  const keys = Object.keys(first)
  const cells = [keys, ...rows.map((r) => keys.map((k) => String(r[k] ?? '')))]
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)))
  for (const c of cells) console.log('  ' + c.map((x, i) => x.padStart(widths[i] ?? 0)).join('  '))
}

const sec = (ms: number) => (ms / 1000).toFixed(2)

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  const { users } = sizes[args.size]
  const labels = refreshWorkspace(args.labels, day1)
  const methods = [...new Set(labels.map((l) => l.method))]
  console.log(
    `refresh bench: size ${args.size} (${users} users, ~${users * 10} events), ${labels.length} labels (${methods
      .map((m) => `${labels.filter((l) => l.method === m).length} ${m}`)
      .join(', ')}), engines ${args.engines.join(', ')}, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  const f = await files(users)
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
  for (const [title, pick] of [
    ['first refresh', (r: EngineResult) => r.refresh1],
    ['second day (one more day of events)', (r: EngineResult) => r.refresh2],
  ] as const) {
    console.log(`\n${title}: seconds per method (sum over its labels) and the whole refresh; × = ÷ DuckDB`)
    table(
      results.map((r) => {
        const row: Record<string, unknown> = { engine: r.engine }
        for (const m of methods) {
          const s = byMethod(pick(r), m)
          row[m] = sec(s) + (duck && r !== duck ? ` (${(s / byMethod(pick(duck), m)).toFixed(1)}×)` : '')
        }
        const tot = pick(r).totalMs
        row.total = sec(tot) + (duck && r !== duck ? ` (${(tot / pick(duck).totalMs).toFixed(1)}×)` : '')
        row.failed = pick(r).failed.length
        return row
      }),
    )
  }
  console.log('\nsecond day ÷ first refresh (target ≤ 20% for the engines)')
  table(
    results.map((r) => ({
      engine: r.engine,
      ratio: `${((100 * r.refresh2.totalMs) / r.refresh1.totalMs).toFixed(0)}%`,
    })),
  )
  for (const r of results)
    for (const x of [...r.refresh1.failed, ...r.refresh2.failed]) console.log(`  FAILED [${r.engine}] ${x}`)
  if (duck) {
    console.log('\nresults against DuckDB (rows and value counts, or sums)')
    const rows = []
    for (const r of results.filter((x) => x !== duck)) {
      const bad: string[] = []
      for (const [day, a, b] of [
        [1, r.digests1, duck.digests1],
        [2, r.digests2, duck.digests2],
      ] as const)
        for (const l of labels) {
          const x = a[l.id] as Digest
          const y = b[l.id] as Digest
          if (!sameDigest(x, y))
            bad.push(
              `day ${day} ${l.id} (${l.method}, ${l.shape}): ${JSON.stringify(x).slice(0, 160)} vs duckdb ${JSON.stringify(y).slice(0, 160)}`,
            )
        }
      rows.push({ engine: r.engine, labelsSame: `${2 * labels.length - bad.length}/${2 * labels.length}` })
      for (const b of bad.slice(0, 10)) console.log(`  DIFFERS [${r.engine}] ${b}`)
    }
    table(rows)
  }
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
        results: results.map((r) => ({ ...r, digests1: undefined, digests2: undefined })),
        shapes: labels.map((l) => ({ id: l.id, method: l.method, shape: l.shape })),
      },
      null,
      2,
    ),
  )
  console.log(`\nwrote ${out}`)
}
