// npm run bench -- explain [--size tiny|small|large] [--engines pglite,postgres] [--customers N] [--memory]
//                           [--without-index] [--backfill DAYS]
//
// Explain one customer's value (GET /api/labels/:label/explain/:userId → EngineService.explain)
// on the demo data, PGlite and PostgreSQL side by side: the demo's labels of each creation method
// are calculated once, then N random customers are explained per label (after a warm-up), and
// the latency p50 / p95 / max is printed per engine and method. `large` is ~10.5M events.
// Event tables are indexed by uid as ingestion leaves them (ARCHITECTURE.md#storage-layout);
// --without-index then drops those indexes, measures again (what a full scan costs) and times
// building them again (their cost to a bulk load), and
// --backfill DAYS backfills spend_90d's last DAYS days on the same data (bench/backfill.ts).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EngineService } from '../engine/service.ts'
import { addUidIndex } from '../engine/storage/extend.ts'
import { makeRng } from '../shared/prng.ts'
import { demoLabels } from '../server/demo/demo-workspace.ts'
import { backfillBench } from './backfill.ts'
import { pct } from './collab.ts'
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
  const extra: Record<string, Record<string, number>> = {}
  for (const engine of engines) {
    const { db, cleanup } = await open(engine, argv.includes('--memory'))
    try {
      const svc = new EngineService(db)
      await svc.migrate()
      console.log(`  [${engine}] ingesting…`)
      await ingestFile(db, 'users', files.users)
      let t0 = performance.now()
      const ev = await ingestFile(db, 'events', files.events)
      const e: Record<string, number> = { events: ev.inserted, ingestS: (performance.now() - t0) / 1000 }
      extra[engine] = e
      console.log(
        `  [${engine}] ${ev.inserted} events in ${e.ingestS?.toFixed(1)} s; calculating ${defs.length} labels…`,
      )
      t0 = performance.now()
      for (const l of defs) {
        const def = { dataType: l.dataType, rule: l.rule }
        const run = await svc.createRun({ labelId: l.name, trigger: 'manual', asOf, definition: def })
        const done = await svc.executeRun(run.id, { tz: 'UTC' })
        if (done.status !== 'succeeded') throw new Error(`${l.name}: ${done.error}`)
      }
      e.calculateS = (performance.now() - t0) / 1000
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
          console.log(
            `  [${engine}, ${index}] ${l.name}: p50 ${Math.round(pct(ms, 50))}, p95 ${Math.round(pct(ms, 95))}, max ${Math.round(Math.max(...ms))} ms, agree ${agree}/${customers}`,
          )
        }
      }
      await measure('uid')
      if (argv.includes('--without-index')) {
        const tables = (await db.query<{ tbl: string }>(`SELECT tbl FROM catalogue_events ORDER BY id`)).rows
        for (const { tbl } of tables) if (/^ev\d+$/.test(tbl)) await db.exec(`DROP INDEX IF EXISTS ${tbl}_uid`)
        await measure('none')
        t0 = performance.now() // what the index costs ingestion: building it once over the loaded rows
        for (const { tbl } of tables) if (/^ev\d+$/.test(tbl)) await addUidIndex(db, tbl)
        e.indexS = (performance.now() - t0) / 1000
      }
      const days = Number(get('backfill') ?? 0)
      if (days > 0) {
        const spend = defs.find((l) => l.name === 'spend_90d')
        if (!spend) throw new Error('no demo label spend_90d')
        const b = await backfillBench(svc, spend.name, { dataType: spend.dataType, rule: spend.rule }, days)
        Object.assign(e, { backfillDays: days, backfillS: b.totalS, backfillDayP50Ms: pct(b.ms, 50) })
        Object.assign(e, { backfillDayMaxMs: Math.max(...b.ms) })
        console.log(`  [${engine}] spend_90d: ${days} days backfilled in ${b.totalS.toFixed(1)} s`)
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
  for (const [engine, e] of Object.entries(extra))
    console.log(
      `  [${engine}] ${Object.entries(e)
        .map(([k, v]) => `${k} ${Math.round(v * 10) / 10}`)
        .join(', ')}`,
    )
  writeFileSync(out, JSON.stringify({ size, users, asOf, node: process.version, rows, extra }, null, 2))
  console.log(`\nwrote ${out}`)
}
