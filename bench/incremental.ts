// npm run bench -- incremental [--size tiny|small|large] [--engines pglite,postgres] [--runs 3] [--memory]
//
// Issue 10 item 4, measured before anything is built: is a `lastDays` count or sum label cheaper
// from per-customer daily partial aggregates than from the events? For view_product (count, sum
// of price) and purchase (count, sum of amount), 30- and 90-day windows, it times side by side:
//   (a) events   — the compiler's statement as a run executes it today (scans the event table);
//   (b) partials — the same values from a per-(user, UTC day) partial table `(uid, day, n, s)`;
//   (c) delta    — the previous day's result + the day that entered − the day that left the window,
//                  read from the partial table (its (day) index), joined to every customer;
// and, since every path then joins every customer, the per-customer aggregate alone for (a) and
// (b), and (c) for the changed customers only (what a "write only what changed" writer needs).
// The demo's events end at prevAsOf; their partials are built in bulk, then one more (typical) day
// of events is ingested and its partials upserted, and the refresh at asOf = prevAsOf + 1 day is
// timed, (c) from the result at prevAsOf. Each statement runs as `CREATE TEMP TABLE … AS` (a run
// writes its result table too), best of --runs. It also prints what the partials cost: rows
// against events (per day and per hour buckets), the bulk build, and the day's ingestion against
// upserting its partials (an upper bound: the upsert finds the new rows by scanning the event
// table for seq; at ingestion it would read the stage). (b) and (c) are checked against (a):
// counts equal, sums within 1e-9 relative (a float sum in another order is not bit-identical).
// The refresh is at midnight UTC, so partial days line up with the window (see the decision).
//
// Decision (2026-11-30; 1M events on PGlite and PostgreSQL, 10M on PostgreSQL): not built.
// (b) takes 0.48–1.58× of (a)'s time: the demo has 2.96 views and 1.02 purchases per
// customer-day, and the join to every customer, the same on each path, dominates. (c) pays only
// when just the changed customers are written (1.6–38× faster than (a)), which needs "write only
// what changed", a per-scope measure kept from the previous run for custom/distribution labels,
// dirty days for late events and a periodic full recompute for float sums; and it would serve
// the 49 of the 300 bench labels (16%) that are count/sum over lastDays without filters.
import { loadavg } from 'node:os'
import { compileRule } from '../engine/compiler/index.ts'
import { demoEvents } from '../engine/demo/index.ts'
import { EngineService } from '../engine/service.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import { loadCatalogue, type Catalogue } from '../engine/storage/catalogue.ts'
import { addTimeIndexes } from '../engine/storage/extend.ts'
import type { Rule } from '../shared/schemas/rule.ts'
import { benchPgUrl, flagValue, sizeFlag } from './args.ts'
import { demoFiles, ingestFile, open, writeLines } from './engine.ts'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const sizes = { tiny: { users: 10_000 }, small: { users: 100_000 }, large: { users: 1_000_000 } } as const
const dayMs = 86_400_000
/** The demo's end: the previous refresh (midnight UTC). */
const prevAsOf = new Date('2025-06-01T00:00:00.000Z')
/** The refresh measured: one day later, after one more day of events. */
const asOf = new Date(prevAsOf.getTime() + dayMs)
const windows = [30, 90] as const
const targets = [
  { event: 'view_product', property: 'price' },
  { event: 'purchase', property: 'amount' },
] as const

interface Args {
  size: keyof typeof sizes
  engines: string[]
  runs: number
  memory: boolean
}

function parseArgs(args: string[]): Args {
  const runs = Number(flagValue(args, 'runs') ?? 3)
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs must be a whole number ≥ 1, not ${flagValue(args, 'runs')}`)
  return {
    size: sizeFlag(args, sizes),
    engines: (flagValue(args, 'engines') ?? (benchPgUrl() ? 'pglite,postgres' : 'pglite')).split(','),
    runs,
    memory: args.includes('--memory'),
  }
}

/**
 * One more day of events after the demo's end: another seed's events of a typical day (9 days
 * before the end, the demo's last days being sparse), moved to [prevAsOf, asOf).
 */
function* nextDay(users: number) {
  const shift = 10 * dayMs
  for (const e of demoEvents({ users, seed: 2, now: prevAsOf })) {
    const t = Date.parse(e.time as string) + shift
    if (t >= prevAsOf.getTime() && t < asOf.getTime()) yield { ...e, time: new Date(t).toISOString() }
  }
}

async function files(users: number) {
  const f = await demoFiles(users)
  const next = join(dirname(f.events), 'events-incremental-next.ndjson')
  if (!existsSync(next)) await writeLines(next, nextDay(users))
  return { ...f, next }
}

/** Day number of a time: whole UTC days since 1970 (the partial table's bucket). */
const dayOf = (t: Date) => Math.floor(t.getTime() / dayMs)
const daySql = `floor(extract(epoch FROM time) / 86400)::int`

const ms = async (fn: () => Promise<unknown>) => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

interface Target {
  event: string
  table: string
  column: string
  partial: string
}

function target(catalogue: Catalogue, event: string, property: string): Target {
  const info = catalogue.events.get(event)
  const column = info?.properties.get(property)?.column
  if (!info || !column) throw new Error(`the demo data has no ${event}.${property}`)
  return { event, table: info.table, column, partial: `bench_pd_${info.table}` }
}

/** The per-(uid, day) partial table of one event table, keyed for upserts, indexed by day for (c). */
async function buildPartial(db: SqlExecutor, t: Target): Promise<void> {
  await db.exec(
    `DROP TABLE IF EXISTS ${t.partial};
     CREATE TABLE ${t.partial} AS SELECT uid, ${daySql} AS day, count(*)::bigint AS n, sum(${t.column}) AS s
       FROM ${t.table} GROUP BY 1, 2;
     ALTER TABLE ${t.partial} ADD PRIMARY KEY (uid, day);
     CREATE INDEX ON ${t.partial} (day);
     ANALYZE ${t.partial}`,
  )
}

/** Adds the partials of the events with seq > after (one ingestion's rows) to the table. */
async function upsertPartial(db: SqlExecutor, t: Target, after: string): Promise<void> {
  await db.query(
    `INSERT INTO ${t.partial} AS p (uid, day, n, s)
       SELECT uid, ${daySql}, count(*), sum(${t.column}) FROM ${t.table} WHERE seq > $1 GROUP BY 1, 2
     ON CONFLICT (uid, day) DO UPDATE SET n = p.n + EXCLUDED.n,
       s = CASE WHEN p.s IS NULL THEN EXCLUDED.s WHEN EXCLUDED.s IS NULL THEN p.s ELSE p.s + EXCLUDED.s END`,
    [after],
  )
}

type Agg = 'count' | 'sum'

/** (a): the compiler's statement, exactly as a run computes it. */
function fromEvents(catalogue: Catalogue, t: Target, agg: Agg, days: number, at: Date) {
  const measure = agg === 'count' ? { agg } : { agg, property: targets.find((x) => x.event === t.event)!.property }
  const rule = { method: 'metric', event: t.event, window: { lastDays: days }, measure } as unknown as Rule
  return compileRule({ dataType: 'number', rule }, { catalogue, asOf: at, tz: 'UTC' })
}

/** (b): the same shape as (a), its aggregate read from the partial table's days in the window. */
function fromPartials(t: Target, agg: Agg, days: number, at: Date) {
  const m = agg === 'count' ? 'sum(n)' : 'sum(s)'
  return {
    sql: `WITH s0 AS (SELECT uid, ${m} AS m0 FROM ${t.partial} WHERE day >= $1 AND day < $2 GROUP BY uid)
      SELECT u.uid, COALESCE(s0.m0, 0)::double precision AS value FROM users u LEFT JOIN s0 ON s0.uid = u.uid`,
    params: [dayOf(at) - days, dayOf(at)],
  }
}

/** (c): the previous result (table prev(uid, value)) + the entering day − the leaving day. */
function fromDelta(t: Target, agg: Agg, days: number, at: Date, prev: string) {
  const m = agg === 'count' ? 'n' : 'COALESCE(s, 0)'
  return {
    sql: `WITH d AS (SELECT uid, sum(CASE WHEN day = $1 THEN ${m} ELSE -${m} END) AS dv
        FROM ${t.partial} WHERE day = $1 OR day = $2 GROUP BY uid)
      SELECT u.uid, (COALESCE(p.value, 0) + COALESCE(d.dv, 0))::double precision AS value
        FROM users u LEFT JOIN ${prev} p ON p.uid = u.uid LEFT JOIN d ON d.uid = u.uid`,
    params: [dayOf(at) - 1, dayOf(at) - 1 - days],
  }
}

/** The per-customer aggregate alone (the `s0` part of (a)/(b)): what the paths differ in; the join to every customer is the same in each. */
function aggregateOnly(q: { sql: string; params: unknown[] }) {
  const m = /^WITH s0 AS \((.*?)\)\s+SELECT /s.exec(q.sql)
  if (!m) throw new Error(`unexpected statement shape: ${q.sql.slice(0, 120)}`)
  return { sql: m[1]!, params: q.params }
}

/**
 * (c) as an h2-style writer would apply it: only the customers whose value changes (those with
 * events on the entering or the leaving day), their new value from the previous one.
 */
function deltaOnly(t: Target, agg: Agg, days: number, at: Date, prev: string) {
  const m = agg === 'count' ? 'n' : 'COALESCE(s, 0)'
  return {
    sql: `SELECT d.uid, (COALESCE(p.value, 0) + d.dv)::double precision AS value FROM (SELECT uid, sum(CASE WHEN day = $1 THEN ${m} ELSE -${m} END) AS dv
        FROM ${t.partial} WHERE day = $1 OR day = $2 GROUP BY uid) d LEFT JOIN ${prev} p ON p.uid = d.uid`,
    params: [dayOf(at) - 1, dayOf(at) - 1 - days],
  }
}

/** Best of `runs` of writing q into a fresh temp table `into` (kept for the checks). */
async function best(db: SqlExecutor, runs: number, into: string, q: { sql: string; params: unknown[] }) {
  let min = Number.POSITIVE_INFINITY
  for (let i = 0; i < runs; i++) {
    await db.exec(`DROP TABLE IF EXISTS ${into}`)
    min = Math.min(min, await ms(() => db.query(`CREATE TEMP TABLE ${into} AS ${q.sql}`, q.params)))
  }
  return min
}

/** Customers whose value differs between two result tables (relative 1e-9 for sums), and the largest difference. */
async function differences(db: SqlExecutor, a: string, b: string) {
  const { rows } = await db.query<{ bad: string; maxdiff: number | null }>(
    `SELECT count(*) FILTER (WHERE x.value IS DISTINCT FROM y.value
         AND (x.value IS NULL OR y.value IS NULL OR abs(x.value - y.value) > 1e-9 * greatest(1, abs(x.value)))) AS bad,
       max(abs(x.value - y.value)) AS maxdiff
     FROM ${a} x FULL JOIN ${b} y ON x.uid = y.uid`,
  )
  return { bad: Number(rows[0]!.bad), maxdiff: Number(rows[0]!.maxdiff ?? 0) }
}

interface Row {
  engine: string
  label: string
  events: number
  a: number
  b: number
  c: number
  aAgg: number
  bAgg: number
  cDelta: number
  changed: number
  check: string
}

async function benchEngine(engine: string, args: Args, f: Awaited<ReturnType<typeof files>>) {
  const { db, cleanup } = await open(engine, args.memory)
  const rows: Row[] = []
  const costs: string[] = []
  try {
    await new EngineService(db).migrate()
    console.log(`  [${engine}] ingesting…`)
    const u = await ingestFile(db, 'users', f.users)
    const e = await ingestFile(db, 'events', f.events)
    if (!u.committed || !e.committed) throw new Error('the demo data was refused')
    // As an incremental run's first would (engine/storage/extend.ts): paths (b) and (c) read days by time.
    await addTimeIndexes(db)
    const catalogue = await loadCatalogue(db)
    const ts = targets.map((x) => target(catalogue, x.event, x.property))
    for (const t of ts) {
      const { rows: c } = await db.query<{ events: string; days: string; hours: string }>(
        `SELECT count(*) AS events, count(DISTINCT (uid, ${daySql})) AS days,
           count(DISTINCT (uid, floor(extract(epoch FROM time) / 3600)::int)) AS hours FROM ${t.table}`,
      )
      const build = await ms(() => buildPartial(db, t))
      const r = c[0]!
      costs.push(
        `${engine} ${t.event}: ${Number(r.events)} events → ${Number(r.days)} (uid, day) rows ` +
          `(${(Number(r.events) / Number(r.days)).toFixed(2)} events/row), ${Number(r.hours)} (uid, hour) rows; ` +
          `bulk build ${(build / 1000).toFixed(2)} s`,
      )
    }
    // The cost at ingestion: one more day of events, with and without upserting its partials.
    const maxSeq = async () => {
      const parts = ts.map((t) => `SELECT max(seq) AS m FROM ${t.table}`).join(' UNION ALL ')
      const { rows: m } = await db.query<{ m: string }>(`SELECT max(m)::text AS m FROM (${parts}) x`)
      return m[0]!.m
    }
    const before = await maxSeq()
    let n = 0
    const plain = await ms(async () => {
      const r = await ingestFile(db, 'events', f.next)
      n = r.inserted
    })
    const upsert = await ms(async () => {
      for (const t of ts) await upsertPartial(db, t, before)
    })
    costs.push(
      `${engine} one more day (${n} events of every type): ingestion ${plain.toFixed(0)} ms, ` +
        `+ upserting view_product and purchase partials ${upsert.toFixed(0)} ms`,
    )
    for (const t of ts) {
      const { rows: n } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.table} WHERE time < $1`, [asOf])
      for (const days of windows)
        for (const agg of ['count', 'sum'] as const) {
          const label = `${t.event} ${agg} lastDays ${days}`
          // The previous day's result, as the last run left it (not timed).
          await db.exec(`DROP TABLE IF EXISTS bench_prev`)
          const p = fromEvents(catalogue, t, agg, days, prevAsOf)
          await db.query(`CREATE TEMP TABLE bench_prev AS ${p.sql}`, p.params)
          await db.exec(`ANALYZE bench_prev`)
          const a = await best(db, args.runs, 'bench_a', fromEvents(catalogue, t, agg, days, asOf))
          const b = await best(db, args.runs, 'bench_b', fromPartials(t, agg, days, asOf))
          const c = await best(db, args.runs, 'bench_c', fromDelta(t, agg, days, asOf, 'bench_prev'))
          const qa = fromEvents(catalogue, t, agg, days, asOf)
          const aAgg = await best(db, args.runs, 'bench_x', aggregateOnly(qa))
          const bAgg = await best(db, args.runs, 'bench_x', aggregateOnly(fromPartials(t, agg, days, asOf)))
          const cDelta = await best(db, args.runs, 'bench_x', deltaOnly(t, agg, days, asOf, 'bench_prev'))
          const { rows: ch } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM bench_x`)
          const changed = Number(ch[0]!.n)
          const db_ = await differences(db, 'bench_a', 'bench_b')
          const dc = await differences(db, 'bench_a', 'bench_c')
          const check =
            db_.bad || dc.bad
              ? `MISMATCH b ${db_.bad}, c ${dc.bad}`
              : `ok (max |diff| b ${db_.maxdiff.toExponential(1)}, c ${dc.maxdiff.toExponential(1)})`
          rows.push({ engine, label, events: Number(n[0]!.n), a, b, c, aAgg, bAgg, cDelta, changed, check })
          console.log(
            `  [${engine}] ${label}: a ${a.toFixed(0)} ms, b ${b.toFixed(0)} ms, c ${c.toFixed(0)} ms, ${check}`,
          )
        }
    }
    return { rows, costs }
  } finally {
    await cleanup()
  }
}

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv)
  const f = await files(sizes[args.size].users)
  console.log(
    `incremental windows: ${args.size} (${sizes[args.size].users} users), engines ${args.engines.join(', ')}, ` +
      `best of ${args.runs}, load ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
  )
  const rows: Row[] = []
  const costs: string[] = []
  for (const engine of args.engines) {
    const r = await benchEngine(engine, args, f)
    rows.push(...r.rows)
    costs.push(...r.costs)
  }
  console.log(
    '\n| engine | label | events of that type | (a) events ms | (b) partials ms | (c) delta ms | b/a | c/a | aggregate only: (a) / (b) ms | (c) changed customers only ms (rows) | check |',
  )
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows)
    console.log(
      `| ${r.engine} | ${r.label} | ${r.events} | ${r.a.toFixed(0)} | ${r.b.toFixed(0)} | ${r.c.toFixed(0)} | ` +
        `${(r.b / r.a).toFixed(2)} | ${(r.c / r.a).toFixed(2)} | ${r.aAgg.toFixed(0)} / ${r.bAgg.toFixed(0)} | ` +
        `${r.cDelta.toFixed(0)} (${r.changed}) | ${r.check} |`,
    )
  console.log('')
  for (const c of costs) console.log(`- ${c}`)
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const out = join(import.meta.dirname, 'results', `incremental-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(out, JSON.stringify({ size: args.size, runs: args.runs, load: loadavg(), rows, costs }, null, 2))
  console.log(`→ ${out}`)
  console.log(
    `load after: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
}
