// npm run bench -- engine [--size small|large|tiny] [--engines pglite,postgres,citus] [--memory] [--runs N] [--no-calc] [--parse worker|inline] [--compare-uid-index]
//
// Ingestion rate into PGlite and PostgreSQL side by side (PostgreSQL when BENCH_DATABASE_URL
// or TEST_DATABASE_URL is set; a Citus coordinator, its tables distributed over the workers, when
// BENCH_CITUS_URL or TEST_CITUS_URL is set: scripts/citus-cluster.sh starts 3 local nodes), then the calculation time of each creation method: the
// compiler's SQL against the best hand-written SQL for the same result on the same engine.
// The demo data is generated once into NDJSON files (cached in the OS temp dir, not timed)
// and streamed through the Ingestor in 1 MiB chunks: the path of POST /api/data/*.
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { openPglite } from '../engine/adapters/pglite.ts'
import { ENGINE_PG_SETTINGS, openPostgres, parsePgSettings } from '../engine/adapters/pg.ts'
import { compileRule, intervalNames } from '../engine/compiler/index.ts'
import { demoEvents, demoUsers } from '../engine/demo/index.ts'
import { Ingestor, type IngestResult } from '../engine/ingest/index.ts'
import { EngineService } from '../engine/service.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import { loadCatalogue, type Catalogue } from '../engine/storage/catalogue.ts'
import type { DataType } from '../shared/schemas/label.ts'
import type { Rule } from '../shared/schemas/rule.ts'

const sizes = { tiny: { users: 10_000 }, small: { users: 100_000 }, large: { users: 1_000_000 } } as const
const seed = 1
const now = '2025-06-01T00:00:00.000Z'
const asOf = new Date(now)
const dayMs = 86_400_000

interface Args {
  size: keyof typeof sizes
  engines: string[]
  memory: boolean
  runs: number
  calc: boolean
  parse: 'inline' | 'worker'
  compareUidIndex: boolean
}

/** Where the Ingestor parses (--parse; the server uses the worker for bodies from 1 MiB). */
let parseMode: 'inline' | 'worker' = 'worker'

function parseArgs(args: string[]): Args {
  const get = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  const size = (get('size') ?? 'small') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be tiny, small or large, not ${size}`)
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  const citusUrl = process.env.BENCH_CITUS_URL ?? process.env.TEST_CITUS_URL
  const engines = (
    get('engines') ?? ['pglite', pgUrl && 'postgres', citusUrl && 'citus'].filter(Boolean).join(',')
  ).split(',')
  const parse = (get('parse') ?? 'worker') as Args['parse']
  if (parse !== 'inline' && parse !== 'worker')
    throw new Error(`--parse must be inline or worker, not ${String(parse)}`)
  return {
    size,
    engines,
    memory: args.includes('--memory'),
    runs: Number(get('runs') ?? (size === 'small' ? 3 : 1)),
    calc: !args.includes('--no-calc'),
    parse,
    compareUidIndex: args.includes('--compare-uid-index'),
  }
}

/** Peak RSS, sampled every 100 ms while a phase runs. */
function rssMeter() {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 100)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage().rss)
    },
  }
}

/** Writes records as NDJSON to `path` (through `path.part`, renamed when complete). */
export async function writeLines(path: string, records: Iterable<unknown>): Promise<number> {
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

/** The demo data as NDJSON files, generated once per size (generation is not what we measure). */
export async function demoFiles(users: number): Promise<{ users: string; events: string }> {
  const dir = join(tmpdir(), `labels-bench-demo-${users}-${seed}`)
  mkdirSync(dir, { recursive: true })
  const files = { users: join(dir, 'users.ndjson'), events: join(dir, 'events.ndjson') }
  const opts = { users, seed, now }
  if (!existsSync(files.users)) await writeLines(files.users, demoUsers(opts))
  if (!existsSync(files.events)) {
    const t = performance.now()
    const n = await writeLines(files.events, demoEvents(opts))
    console.log(`  generated ${n} demo events in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed) → ${dir}`)
  }
  return files
}

/** Streams a file through the Ingestor; `commitSec` is the final transaction (finish), the rest is parse + validate + stage. */
export async function ingestFile(
  db: SqlExecutor,
  kind: 'users' | 'events',
  path: string,
): Promise<IngestResult & { commitSec: number }> {
  const ing = new Ingestor(db, kind, 'ndjson', { parse: parseMode })
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }))
    await ing.push(chunk as string)
  const t = performance.now()
  const r = await ing.finish()
  return { ...r, commitSec: (performance.now() - t) / 1000 }
}

interface Opened {
  db: SqlExecutor
  cleanup: () => Promise<void>
}

export async function open(engine: string, memory: boolean): Promise<Opened> {
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
  const url =
    engine === 'citus'
      ? (process.env.BENCH_CITUS_URL ?? process.env.TEST_CITUS_URL)
      : (process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL)
  if (!url)
    throw new Error(
      `${engine} needs ${engine === 'citus' ? 'BENCH_CITUS_URL or TEST_CITUS_URL' : 'BENCH_DATABASE_URL or TEST_DATABASE_URL'}`,
    )
  const schema = `bench_${Date.now().toString(36)}`
  const admin = await openPostgres(url, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  // The engine's connection settings, as the server opens them (LABELS_PG_SETTINGS, default ENGINE_PG_SETTINGS).
  const settings = parsePgSettings(process.env.LABELS_PG_SETTINGS ?? ENGINE_PG_SETTINGS)
  const db = await openPostgres(url, { schema, max: 4, settings })
  // BENCH_KEEP_SCHEMA=1 leaves the schema and its data for inspection (psql) and says its name.
  const keep = process.env.BENCH_KEEP_SCHEMA === '1'
  const cleanup = async () => {
    await db.close()
    if (keep)
      console.log(`  [${engine}] kept schema ${schema} (BENCH_KEEP_SCHEMA=1): DROP SCHEMA ${schema} CASCADE when done`)
    else await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  }
  if (engine === 'citus' && !db.citus) {
    await cleanup()
    throw new Error(
      'the citus engine needs BENCH_CITUS_URL or TEST_CITUS_URL to name a database with the citus extension',
    )
  }
  return { db, cleanup }
}

interface IngestRow {
  engine: string
  users: number
  events: number
  usersSec: number
  eventsSec: number
  eventsCommitSec: number
  eventsPerSec: number
  peakRssMb: number
}

async function benchIngest(
  engine: string,
  db: SqlExecutor,
  files: { users: string; events: string },
): Promise<IngestRow> {
  const meter = rssMeter()
  let t = performance.now()
  const u = await ingestFile(db, 'users', files.users)
  const usersSec = (performance.now() - t) / 1000
  t = performance.now()
  const e = await ingestFile(db, 'events', files.events)
  const eventsSec = (performance.now() - t) / 1000
  const peak = meter.stop()
  if (!u.committed || !e.committed)
    throw new Error(`demo ingestion rejected: ${JSON.stringify([...u.errors, ...e.errors].slice(0, 3))}`)
  return {
    engine,
    users: u.stored,
    events: e.inserted,
    usersSec,
    eventsSec,
    eventsCommitSec: e.commitSec,
    eventsPerSec: Math.round(e.inserted / eventsSec),
    peakRssMb: Math.round(peak / 1e6),
  }
}

/** One creation method: the label definition, and hand-written SQL for the same (uid, value) rows. */
interface Case {
  method: string
  def: { dataType: DataType; rule: Rule }
  hand: (cat: Catalogue) => { sql: string; params: unknown[] }
}

function col(cat: Catalogue, event: string | null, name: string): string {
  const ref = event === null ? cat.users.get(name) : cat.events.get(event)?.properties.get(name)
  if (!ref) throw new Error(`demo schema lacks ${event ?? 'user'}.${name}`)
  return ref.column
}
function tbl(cat: Catalogue, event: string): string {
  const t = cat.events.get(event)?.table
  if (!t) throw new Error(`demo schema lacks event ${event}`)
  return t
}
const since = (days: number) => new Date(asOf.getTime() - days * dayMs)

const cases: Case[] = [
  {
    method: 'custom',
    def: {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'vip',
            when: {
              all: [
                {
                  event: 'purchase',
                  window: { lastDays: 30 },
                  measure: { agg: 'sum', property: 'amount' },
                  op: 'gte',
                  value: 300,
                },
                { attribute: 'membership_level', op: 'in', value: ['gold', 'platinum'] },
              ],
            },
          },
          { value: 'engaged', when: { event: 'app_open', window: { lastDays: 14 }, op: 'gte', value: 3 } },
        ],
        otherwise: 'other',
      } as Rule,
    },
    hand: (cat) => ({
      sql: `SELECT u.uid, CASE WHEN coalesce(p.s, 0) >= 300 AND u.${col(cat, null, 'membership_level')} IN ('gold', 'platinum') THEN 'vip'
              WHEN coalesce(a.n, 0) >= 3 THEN 'engaged' ELSE 'other' END AS value
            FROM users u
            LEFT JOIN (SELECT uid, sum(${col(cat, 'purchase', 'amount')}) AS s FROM ${tbl(cat, 'purchase')} WHERE time >= $1 AND time < $3 GROUP BY uid) p ON p.uid = u.uid
            LEFT JOIN (SELECT uid, count(*) AS n FROM ${tbl(cat, 'app_open')} WHERE time >= $2 AND time < $3 GROUP BY uid) a ON a.uid = u.uid`,
      params: [since(30), since(14), asOf],
    }),
  },
  {
    method: 'metric',
    def: {
      dataType: 'number',
      rule: { method: 'metric', event: 'view_product', window: { lastDays: 30 }, measure: { agg: 'count' } } as Rule,
    },
    hand: (cat) => ({
      sql: `SELECT u.uid, coalesce(c.n, 0)::float8 AS value FROM users u
            LEFT JOIN (SELECT uid, count(*) AS n FROM ${tbl(cat, 'view_product')} WHERE time >= $1 AND time < $2 GROUP BY uid) c ON c.uid = u.uid`,
      params: [since(30), asOf],
    }),
  },
  {
    method: 'first_last',
    def: {
      dataType: 'string',
      rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'channel' } as Rule,
    },
    hand: (cat) => {
      const c = col(cat, 'purchase', 'channel')
      return {
        sql: `SELECT DISTINCT ON (uid) uid, ${c} AS value FROM ${tbl(cat, 'purchase')} WHERE time < $1 AND ${c} IS NOT NULL ORDER BY uid, time DESC, seq DESC`,
        params: [asOf],
      }
    },
  },
  {
    method: 'preference',
    def: {
      dataType: 'string',
      rule: { method: 'preference', event: 'view_product', window: { lastDays: 90 }, property: 'category' } as Rule,
    },
    hand: (cat) => {
      const c = col(cat, 'view_product', 'category')
      return {
        sql: `SELECT DISTINCT ON (uid) uid, v AS value FROM (
                SELECT uid, ${c} AS v, count(*) AS n FROM ${tbl(cat, 'view_product')} WHERE time >= $1 AND time < $2 AND ${c} IS NOT NULL GROUP BY uid, ${c}
              ) s ORDER BY uid, n DESC, v COLLATE "C"`,
        params: [since(90), asOf],
      }
    },
  },
  {
    method: 'distribution',
    def: {
      dataType: 'string',
      rule: {
        method: 'distribution',
        event: 'purchase',
        measure: { agg: 'sum', property: 'amount' },
        boundaries: [100, 500, 1000],
      } as Rule,
    },
    hand: (cat) => {
      const names = intervalNames([100, 500, 1000])
      return {
        sql: `SELECT u.uid, CASE WHEN coalesce(p.s, 0) < 100 THEN $2 WHEN coalesce(p.s, 0) < 500 THEN $3 WHEN coalesce(p.s, 0) < 1000 THEN $4 ELSE $5 END AS value
              FROM users u LEFT JOIN (SELECT uid, sum(${col(cat, 'purchase', 'amount')}) AS s FROM ${tbl(cat, 'purchase')} WHERE time < $1 GROUP BY uid) p ON p.uid = u.uid`,
        params: [asOf, ...names],
      }
    },
  },
]

interface CalcRow {
  engine: string
  method: string
  rows: number
  compiledMs: number
  handMs: number
  ratio: number
  same: boolean
}

/** Runs a (uid, value) statement to completion once; the checksum proves both sides agree. */
async function timeOnce(
  db: SqlExecutor,
  q: { sql: string; params: unknown[] },
): Promise<{ ms: number; n: number; sum: number }> {
  const sql = `SELECT count(*)::int AS n, coalesce(sum(hashtext(q.uid::text || ':' || q.value::text)::bigint), 0) AS sum FROM (${q.sql}) q`
  const t = performance.now()
  const r = await db.query<{ n: number; sum: number }>(sql, q.params)
  const out = r.rows[0] ?? { n: 0, sum: 0 }
  return { ms: performance.now() - t, n: out.n, sum: out.sum }
}

/**
 * Best of `runs` for both statements, taken alternately after one untimed warm-up, so neither
 * side pays alone for a cold buffer cache or a busy moment of the machine.
 */
async function measurePair(
  db: SqlExecutor,
  a: { sql: string; params: unknown[] },
  b: { sql: string; params: unknown[] },
  runs: number,
) {
  await timeOnce(db, b)
  let ra = { ms: Infinity, n: 0, sum: 0 }
  let rb = { ms: Infinity, n: 0, sum: 0 }
  for (let i = 0; i < runs; i++) {
    const x = await timeOnce(db, a)
    const y = await timeOnce(db, b)
    ra = { ...x, ms: Math.min(ra.ms, x.ms) }
    rb = { ...y, ms: Math.min(rb.ms, y.ms) }
  }
  return [
    { ...ra, ms: Math.round(ra.ms) },
    { ...rb, ms: Math.round(rb.ms) },
  ] as const
}

async function benchCalc(engine: string, db: SqlExecutor, runs: number): Promise<CalcRow[]> {
  const cat = await loadCatalogue(db)
  const rows: CalcRow[] = []
  for (const c of cases) {
    const compiled = compileRule(c.def, { catalogue: cat, asOf, tz: 'UTC' })
    const [a, b] = await measurePair(db, compiled, c.hand(cat), runs)
    rows.push({
      engine,
      method: c.method,
      rows: a.n,
      compiledMs: a.ms,
      handMs: b.ms,
      ratio: Number((a.ms / Math.max(1, b.ms)).toFixed(2)),
      same: a.n === b.n && a.sum === b.sum,
    })
  }
  rows.push(await benchImport(engine, db, runs))
  return rows
}

/**
 * import: the engine's importValues (a whole import run: CSV parsing, user lookup, result table,
 * history snapshot, swap) against hand-written SQL giving the same result: the pairs joined to
 * users into a table, its (uid) key, the per-value counts the history stores and the total of
 * users their proportions are of. Best of `runs` (at least 2), taken alternately.
 */
async function benchImport(engine: string, db: SqlExecutor, runs: number): Promise<CalcRow> {
  const service = new EngineService(db)
  await service.migrate()
  const users = await db.query<{ user_id: string }>(`SELECT user_id FROM users WHERE uid % 10 = 0 ORDER BY uid`)
  const ids = users.rows.map((r) => r.user_id)
  const values = ids.map((_, i) => `segment_${i % 7}`)
  const csv = 'user_id,value\n' + ids.map((id, i) => `${id},${values[i]}`).join('\n')
  const definition = { dataType: 'string' as DataType, rule: { method: 'import' } as Rule }
  let compiledMs = Infinity,
    handMs = Infinity,
    same = true,
    imported = 0
  for (let k = 0; k < Math.max(2, runs); k++) {
    let t = performance.now()
    const r = await service.importValues({
      labelId: `bench_import_${Date.now()}_${k}`,
      dataType: 'string',
      csv,
      mode: 'replace',
      tz: 'UTC',
      definition,
    })
    compiledMs = Math.min(compiledMs, performance.now() - t)
    await db.exec(
      'DROP TABLE IF EXISTS bench_import; CREATE TABLE bench_import (uid int NOT NULL, value text NOT NULL)',
    )
    t = performance.now()
    const h = await db.query(
      `INSERT INTO bench_import SELECT u.uid, v.value FROM unnest($1::text[], $2::text[]) AS v(user_id, value) JOIN users u ON u.user_id = v.user_id`,
      [ids, values],
    )
    await db.exec('ALTER TABLE bench_import ADD PRIMARY KEY (uid)')
    await db.query('SELECT value, count(*) AS users FROM bench_import GROUP BY value')
    await db.query('SELECT count(*) AS n FROM users') // the total the proportions are of
    handMs = Math.min(handMs, performance.now() - t)
    await db.exec('DROP TABLE bench_import')
    imported = r.imported
    same &&= r.committed && r.imported === h.affectedRows
  }
  compiledMs = Math.round(compiledMs)
  handMs = Math.round(handMs)
  return {
    engine,
    method: 'import',
    rows: imported,
    compiledMs,
    handMs,
    ratio: Number((compiledMs / Math.max(1, handMs)).toFixed(2)),
    same,
  }
}

function table(rows: Array<Record<string, unknown>>): void {
  const first = rows[0]
  if (!first) return
  const keys = Object.keys(first)
  const cells = [
    keys,
    ...rows.map((r) =>
      keys.map((k) => {
        const v = r[k]
        return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v)
      }),
    ),
  ]
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)))
  for (const c of cells) console.log('  ' + c.map((x, i) => x.padStart(widths[i] ?? 0)).join('  '))
}

/** Runs the engine benchmark and writes bench/results/engine-<timestamp>.json. */
export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  parseMode = args.parse
  const { users } = sizes[args.size]
  console.log(
    `engine bench: size ${args.size} (${users} users, ~${users * 10} events), engines ${args.engines.join(', ')}${args.memory ? ', PGlite in memory' : ', PGlite on disk'}`,
  )
  const files = await demoFiles(users)
  const ingest: IngestRow[] = []
  const calc: CalcRow[] = []
  for (const engine of args.engines) {
    const { db, cleanup } = await open(engine, args.memory)
    try {
      await new EngineService(db).migrate()
      console.log(`  [${engine}] ingesting…`)
      ingest.push(await benchIngest(engine, db, files))
      if (args.calc) {
        console.log(`  [${engine}] calculating…`)
        calc.push(...(await benchCalc(engine, db, args.runs)))
        if (args.compareUidIndex) {
          // The same calculations once more without the per-event-table uid indexes (explain's):
          // whether the planner's use of them costs the window scans anything.
          const ix = await db.query<{ name: string }>(
            `SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND indexname ~ '^ev[0-9]+_uid$'`,
          )
          for (const { name } of ix.rows) await db.exec(`DROP INDEX ${name}`)
          console.log(`  [${engine}] calculating without the ${ix.rows.length} uid indexes…`)
          calc.push(
            ...(await benchCalc(engine, db, args.runs)).map((r) => ({ ...r, engine: `${r.engine} no uid index` })),
          )
        }
      }
    } finally {
      await cleanup()
    }
  }
  console.log('\ningestion (NDJSON through the Ingestor, all-or-nothing, one commit per request)')
  table(
    ingest.map((r) => ({
      ...r,
      usersSec: Number(r.usersSec.toFixed(1)),
      eventsSec: Number(r.eventsSec.toFixed(1)),
      eventsCommitSec: Number(r.eventsCommitSec.toFixed(1)),
    })),
  )
  if (calc.length > 0) {
    console.log(
      `\ncalculation (ms, best of ${args.runs} after a warm-up, taken alternately; compiled = compileRule output, hand = hand-written SQL; import = a whole importValues run vs INSERT of the pairs + key + per-value counts + user total)`,
    )
    table(calc as unknown as Array<Record<string, unknown>>)
  }
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const out = join(import.meta.dirname, 'results', `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    out,
    JSON.stringify({ size: args.size, users, seed, now, node: process.version, ingest, calc }, null, 2),
  )
  console.log(`\nwrote ${out}`)
}
