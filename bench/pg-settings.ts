// npm run bench -- pg-settings [--size tiny|small|large] [--users N] [--labels 300] [--rounds 2]
//                              [--variants "server;jit=off;jit=off,work_mem=64MB;jit=off counted"] [--no-warm-up]
//
// Issue 10: which PostgreSQL session settings make the daily refresh faster. The refresh bench's
// workspace (bench/refresh-workspace.ts, 300 labels) over the demo files of --size, ingested once into
// one schema of BENCH_DATABASE_URL or TEST_DATABASE_URL; then the day-1 refresh, label by label (every
// run computing every customer and filling a new result table, as a first run does), once per variant
// per round, the variants alternated in each round so that the machine's load spreads over all of
// them, after one untimed pass (a label's first run also fixes a number label's history buckets;
// --no-warm-up skips it). A variant is a list of settings given to every connection of its pass (`-c name=value`);
// `server` is the server's own settings; a variant ending in ` counted` runs without the kept customer count
// (engine/storage/user-count.ts: its table and triggers dropped for the pass, so every run counts `users`, as
// runs did before it), to compare the two on the same data. Prints each variant's best pass: per method, the run's
// statements split into the compute (INSERT INTO res_N SELECT …) and the rest, and the whole; every
// pass's results are checked against the first pass's (same rows, same value counts or sums).
import { loadavg } from 'node:os'
import { openPostgres, parsePgSettings } from '../engine/adapters/pg.ts'
import { EngineService } from '../engine/service.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import { compileRule } from '../engine/compiler/index.ts'
import { loadCatalogue } from '../engine/storage/catalogue.ts'
import { migrateUserCount, untrackUserCount } from '../engine/storage/user-count.ts'
import { sameDigest, type Digest } from './refresh-digest.ts'
import {
  day1,
  digestsOf,
  files,
  ingestTimed,
  profiling,
  refreshAlone,
  sec,
  sizes,
  statementPart,
  table,
  type Profile,
  type Refresh,
} from './refresh.ts'
import { refreshWorkspace, type BenchLabel } from './refresh-workspace.ts'

/**
 * EXPLAIN (ANALYZE) of the first `per` labels of each method's compiled statement, as a run reads it:
 * per method, the execution time and the part of it JIT compilation took (0 when the plan had no JIT).
 */
async function jitTimes(
  db: SqlExecutor,
  labels: BenchLabel[],
  per: number,
): Promise<Record<string, { n: number; execMs: number; jitMs: number; jitted: number }>> {
  const ctx = { catalogue: await loadCatalogue(db), asOf: day1, tz: 'UTC' }
  const out: Record<string, { n: number; execMs: number; jitMs: number; jitted: number }> = {}
  for (const method of new Set(labels.map((l) => l.method)))
    for (const l of labels.filter((x) => x.method === method).slice(0, per)) {
      const q = compileRule(l.def, ctx)
      const r = await db.query<{
        'QUERY PLAN': Array<{ 'Execution Time': number; JIT?: { Timing: { Total: number } } }>
      }>(`EXPLAIN (ANALYZE, FORMAT JSON) SELECT uid, value FROM (${q.sql}) AS src`, q.params)
      const plan = r.rows[0]?.['QUERY PLAN'][0]
      const x = (out[method] ??= { n: 0, execMs: 0, jitMs: 0, jitted: 0 })
      x.n++
      x.execMs += plan?.['Execution Time'] ?? 0
      x.jitMs += plan?.JIT?.Timing.Total ?? 0
      if (plan?.JIT) x.jitted++
    }
  return out
}

interface Variant {
  name: string
  settings: Record<string, string>
  /** Runs without the kept customer count (every run counts `users`). */
  counted: boolean
}

function parseVariants(v: string): Variant[] {
  return v.split(';').map((part) => {
    const counted = / counted$/.test(part.trim())
    const settings = part.trim().replace(/ counted$/, '')
    return { name: part.trim(), settings: parsePgSettings(settings, '--variants'), counted }
  })
}

interface PassResult {
  variant: string
  round: number
  refresh: Refresh
  profile: Profile
  digests: Record<string, Digest>
  /** Round 1: EXPLAIN ANALYZE of a few labels per method (jitTimes). */
  jit?: Awaited<ReturnType<typeof jitTimes>>
}

export async function main(argv: string[]): Promise<void> {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const size = (get('size') ?? 'small') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be ${Object.keys(sizes).join(', ')}, not ${size}`)
  const users = Number(get('users') ?? sizes[size].users)
  const rounds = Number(get('rounds') ?? 2)
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error('--rounds must be 1 to 9')
  const variants = parseVariants(get('variants') ?? 'server;jit=off')
  const warmUp = !argv.includes('--no-warm-up')
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  if (!url) throw new Error('pg-settings needs BENCH_DATABASE_URL or TEST_DATABASE_URL (a PostgreSQL database)')
  const labels = refreshWorkspace(Number(get('labels') ?? 300), day1)
  const methods = [...new Set(labels.map((l) => l.method))]
  console.log(
    `pg-settings bench: ${users} users (~${users * 10} events), ${labels.length} labels, variants ${variants
      .map((v) => `[${v.name}]`)
      .join(' ')}, ${rounds} round(s), load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  const f = await files(users, 2)
  const schema = `bench_${Date.now().toString(36)}`
  const admin = await openPostgres(url, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  const passes: PassResult[] = []
  try {
    const db = await openPostgres(url, { schema, max: 2 })
    try {
      await new EngineService(db).migrate()
      const u = await ingestTimed(db, 'users', f.users)
      const e = await ingestTimed(db, 'events', f.events)
      console.log(`  ingested ${u.n} users (${sec(u.ms)} s), ${e.n} events (${sec(e.ms)} s)`)
      // A label's first run does more than its later ones (a number label's history buckets are fixed
      // from its first results: one more statement over the result table), so a pass of the first
      // variant would pay that alone: one untimed pass first, under the server's settings.
      if (warmUp) {
        console.log(`  warm-up pass (untimed): ${labels.length} labels…`)
        const w = await refreshAlone(1)(
          new EngineService(db, { resultWrites: 'swap', incremental: false }),
          labels,
          day1,
        )
        console.log(`    ${sec(w.totalMs)} s`)
      }
    } finally {
      await db.close()
    }
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order each round: the first pass of a round is not always the same variant's.
      const order = round % 2 === 1 ? variants : [...variants].reverse()
      for (const v of order) {
        const vdb: SqlExecutor = await openPostgres(url, { schema, max: 2, settings: v.settings })
        if (v.counted) await untrackUserCount(vdb)
        try {
          const shown = await vdb.query<{ jit: string; wm: string; par: string }>(
            `SELECT current_setting('jit') AS jit, current_setting('work_mem') AS wm, current_setting('max_parallel_workers_per_gather') AS par`,
          )
          const now = shown.rows[0]
          const profile: Profile = {}
          const service = new EngineService(profiling(vdb, profile), { resultWrites: 'swap', incremental: false })
          console.log(
            `  round ${round}, [${v.name}] (jit ${now?.jit}, work_mem ${now?.wm}, parallel workers ${now?.par}): ${labels.length} labels… (load ${loadavg()[0]?.toFixed(1)})`,
          )
          const refresh = await refreshAlone(1)(service, labels, day1)
          const jit = round === 1 ? await jitTimes(vdb, labels, 3) : undefined
          passes.push({
            variant: v.name,
            round,
            refresh,
            profile,
            digests: await digestsOf(vdb, labels),
            ...(jit ? { jit } : {}),
          })
          console.log(`    ${sec(refresh.totalMs)} s, ${refresh.failed.length} failed`)
        } finally {
          if (v.counted) await migrateUserCount(vdb)
          await vdb.close()
        }
      }
    }
  } finally {
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  }

  const byMethod = (r: Refresh, m: string) =>
    labels.filter((l) => l.method === m).reduce((s, l) => s + (r.perLabel[l.id] ?? 0), 0)
  const parts = (p: Profile) => {
    const out: Record<string, number> = {}
    for (const [kind, x] of Object.entries(p)) out[statementPart(kind)] = (out[statementPart(kind)] ?? 0) + x.ms
    return out
  }
  const first = passes[0]
  const rows = passes.map((p) => {
    const pp = parts(p.profile)
    const compute = pp['compute (INSERT INTO res_N SELECT …)'] ?? 0
    const statements = Object.values(pp).reduce((s, x) => s + x, 0)
    const bad = first ? labels.filter((l) => !sameDigest(p.digests[l.id] as Digest, first.digests[l.id] as Digest)) : []
    return {
      variant: p.variant,
      round: p.round,
      ...Object.fromEntries(methods.map((m) => [m, sec(byMethod(p.refresh, m))])),
      compute: sec(compute),
      'rest of runs': sec(statements - compute),
      total: sec(p.refresh.totalMs),
      failed: p.refresh.failed.length,
      'same results': `${labels.length - bad.length}/${labels.length}`,
    }
  })
  console.log(
    '\nday-1 refresh label by label, every pass: seconds per method (its runs), the runs\u2019 compute statements and the rest, the whole',
  )
  table(rows)
  console.log('\nbest pass of each variant (÷ the first variant\u2019s best)')
  const best = variants.map((v) =>
    passes.filter((p) => p.variant === v.name).reduce((a, b) => (b.refresh.totalMs < a.refresh.totalMs ? b : a)),
  )
  const base = best[0]?.refresh.totalMs ?? 1
  table(
    best.map((p) => ({
      variant: p.variant,
      ...Object.fromEntries(methods.map((m) => [m, sec(byMethod(p.refresh, m))])),
      total: sec(p.refresh.totalMs),
      '÷ first': (p.refresh.totalMs / base).toFixed(2),
    })),
  )
  // Where each variant's best pass spent its statements' time, by kind: each one's top 12 kinds, by the first's time.
  const top = (p: Profile) =>
    Object.entries(p)
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 12)
      .map(([k]) => k)
  const kinds = [...new Set(best.flatMap((p) => top(p.profile)))].sort(
    (a, b) => (best[0]?.profile[b]?.ms ?? 0) - (best[0]?.profile[a]?.ms ?? 0),
  )
  console.log('\nthe best passes by kind of statement (seconds; each variant\u2019s top 12 kinds)')
  table(
    kinds.map((kind) => ({
      ...Object.fromEntries(best.map((p) => [p.variant, sec(p.profile[kind]?.ms ?? 0)])),
      n: best.map((p) => p.profile[kind]?.n ?? 0).join(' / '),
      kind,
    })),
  )
  console.log(
    '\nEXPLAIN ANALYZE of the first 3 labels of each method, round 1: execution ms, of which JIT compilation (statements with JIT / explained)',
  )
  table(
    passes
      .filter((p) => p.jit)
      .map((p) => ({
        variant: p.variant,
        ...Object.fromEntries(
          Object.entries(p.jit ?? {}).map(([m, x]) => [
            m,
            `${x.execMs.toFixed(0)} (JIT ${x.jitMs.toFixed(0)}, ${x.jitted}/${x.n})`,
          ]),
        ),
      })),
  )
  for (const p of passes)
    for (const x of p.refresh.failed) console.log(`  FAILED [${p.variant}, round ${p.round}] ${x}`)
}
