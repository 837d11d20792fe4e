// npm run bench -- explain [--size tiny|small|large] [--engines pglite,postgres] [--customers N] [--memory] [--uid-index]
//
// Explain one customer's value (GET /api/labels/:label/explain/:userId → EngineService.explain)
// on the demo data, PGlite and PostgreSQL side by side: the demo's labels of each creation method
// are calculated once, then N random customers are explained per label (after a warm-up), and
// the latency p50 / p95 / max is printed per engine and method. `large` is ~10.5M events.
// --uid-index then builds an index on each event table's uid (timed) and measures again.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EngineService } from '../engine/service.ts'
import { makeRng } from '../shared/prng.ts'
import { demoLabels } from '../server/demo/demo-workspace.ts'
import { demoFiles, ingestFile, open } from './engine.ts'

const sizes = { tiny: 10_000, small: 100_000, large: 1_000_000 } as const
const asOf = '2025-06-01T00:00:00.000Z' // the bench data's "now" (bench/engine.ts)

interface Row {
  engine: string
  index: string
  label: string
  method: string
  customers: number
  p50Ms: number
  p95Ms: number
  maxMs: number
  agree: string
}

export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

export async function main(argv: string[]): Promise<void> {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const size = (get('size') ?? 'small') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be tiny, small or large, not ${size}`)
  const users = sizes[size]
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  const engines = (get('engines') ?? (pgUrl ? 'pglite,postgres' : 'pglite')).split(',')
  const customers = Number(get('customers') ?? 30)
  console.log(
    `explain bench: ${users} users (~${users * 10} events), engines ${engines.join(', ')}, ${customers} customers per label`,
  )
  const files = await demoFiles(users)
  const defs = demoLabels({ retention: 'g', acquisition: 'g', value: 'g', engagement: 'g' }).filter(
    (l) => l.rule.method !== 'import',
  )
  const rows: Row[] = []
  const indexSec: Record<string, number> = {}
  for (const engine of engines) {
    const { db, cleanup } = await open(engine, argv.includes('--memory'))
    try {
      const svc = new EngineService(db)
      await svc.migrate()
      console.log(`  [${engine}] ingesting…`)
      await ingestFile(db, 'users', files.users)
      const ev = await ingestFile(db, 'events', files.events)
      console.log(`  [${engine}] ${ev.inserted} events; calculating ${defs.length} labels…`)
      for (const l of defs) {
        const def = { dataType: l.dataType, rule: l.rule }
        const run = await svc.createRun({ labelId: l.name, trigger: 'manual', asOf, definition: def })
        const done = await svc.executeRun(run.id, { tz: 'UTC' })
        if (done.status !== 'succeeded') throw new Error(`${l.name}: ${done.error}`)
      }
      const ids = (await db.query<{ user_id: string }>(`SELECT user_id FROM users ORDER BY uid`)).rows.map(
        (r) => r.user_id,
      )
      const measure = async (index: string) => {
        const rng = makeRng(7)
        for (const l of defs) {
          const def = { dataType: l.dataType, rule: l.rule }
          await svc.explain(l.name, ids[0] as string, { tz: 'UTC', definition: def }) // warm-up
          const ms: number[] = []
          let agree = 0
          for (let i = 0; i < customers; i++) {
            const id = ids[rng.int(0, ids.length - 1)] as string
            const t = performance.now()
            const x = await svc.explain(l.name, id, { tz: 'UTC', definition: def })
            ms.push(performance.now() - t)
            if (x.agrees) agree++
          }
          rows.push({
            engine,
            index,
            label: l.name,
            method: l.rule.method,
            customers,
            p50Ms: Math.round(pct(ms, 50)),
            p95Ms: Math.round(pct(ms, 95)),
            maxMs: Math.round(Math.max(...ms)),
            agree: `${agree}/${customers}`,
          })
          console.log(`  [${engine}, ${index}] ${l.name}: p50 ${Math.round(pct(ms, 50))} ms`)
        }
      }
      await measure('none')
      if (argv.includes('--uid-index')) {
        // What an index on each event table's uid would buy (not in the product: ARCHITECTURE.md#storage-layout).
        const tables = (await db.query<{ tbl: string }>(`SELECT tbl FROM catalogue_events ORDER BY id`)).rows
        const t = performance.now()
        for (const { tbl } of tables) {
          if (!/^ev\d+$/.test(tbl)) throw new Error(`unexpected table ${tbl}`)
          await db.exec(`CREATE INDEX ${tbl}_uid ON ${tbl} (uid); ANALYZE ${tbl}`)
        }
        indexSec[engine] = (performance.now() - t) / 1000
        console.log(
          `  [${engine}] uid indexes on ${tables.length} event tables built in ${indexSec[engine]?.toFixed(1)} s`,
        )
        await measure('uid')
      }
    } finally {
      await cleanup()
    }
  }
  console.log(
    '\nexplain one customer (ms; EngineService.explain in process; agree = stored value equals the recomputed one)',
  )
  const keys = Object.keys(rows[0] ?? {}) as Array<keyof Row>
  const cells = [keys as string[], ...rows.map((r) => keys.map((k) => String(r[k])))]
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => (c[i] ?? '').length)))
  for (const c of cells) console.log('  ' + c.map((x, i) => x.padStart(widths[i] ?? 0)).join('  '))
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const out = join(import.meta.dirname, 'results', `explain-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  for (const [e, sec] of Object.entries(indexSec))
    console.log(`  [${e}] building the uid indexes took ${sec.toFixed(1)} s`)
  writeFileSync(out, JSON.stringify({ size, users, asOf, node: process.version, rows, indexSec }, null, 2))
  console.log(`\nwrote ${out}`)
}
