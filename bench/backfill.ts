// npm run bench -- backfill [--size tiny|small|large] [--engines pglite,postgres] [--days N] [--label NAME] [--memory]
//
// Backfill of a label's history (POST /api/labels/:label/backfill → EngineService.backfillDay per
// day) on the demo data, PGlite and PostgreSQL side by side: the label is calculated once (one
// run, for comparison), then its last N days (default 30) are backfilled, newest first, and the
// total and per-day p50 / max are printed. `large` is ~10.5M events.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Definition } from '../engine/api.ts'
import { EngineService } from '../engine/service.ts'
import { backfillDates } from '../server/runs/backfill.ts'
import { demoLabels } from '../server/demo/demo-workspace.ts'
import { pct } from './collab.ts'
import { demoFiles, ingestFile, open } from './engine.ts'

const sizes = { tiny: 10_000, small: 100_000, large: 1_000_000 } as const
const asOf = '2025-06-01T00:00:00.000Z' // the bench data's "now" (bench/engine.ts)

export async function main(argv: string[]): Promise<void> {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const size = (get('size') ?? 'tiny') as keyof typeof sizes
  if (!(size in sizes)) throw new Error(`--size must be tiny, small or large, not ${size}`)
  const users = sizes[size]
  const days = Number(get('days') ?? 30)
  const name = get('label') ?? 'spend_90d'
  const pgUrl = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL
  const engines = (get('engines') ?? (pgUrl ? 'pglite,postgres' : 'pglite')).split(',')
  const label = demoLabels({ retention: 'g', acquisition: 'g', value: 'g', engagement: 'g' }).find(
    (l) => l.name === name,
  )
  if (!label) throw new Error(`no demo label ${name}`)
  const def = { dataType: label.dataType, rule: label.rule }
  console.log(`backfill bench: ${users} users (~${users * 10} events), ${days} days of ${name}, ${engines.join(', ')}`)
  const files = await demoFiles(users)
  const rows: Array<Record<string, string | number>> = []
  for (const engine of engines) {
    const { db, cleanup } = await open(engine, argv.includes('--memory'))
    try {
      const svc = new EngineService(db)
      await svc.migrate()
      await ingestFile(db, 'users', files.users)
      const ev = await ingestFile(db, 'events', files.events)
      const t = performance.now()
      const run = await svc.createRun({ labelId: name, trigger: 'manual', asOf, definition: def })
      const done = await svc.executeRun(run.id, { tz: 'UTC' })
      if (done.status !== 'succeeded') throw new Error(`${name}: ${done.error}`)
      const runMs = performance.now() - t
      const { totalS, ms } = await backfillBench(svc, name, def, days)
      rows.push({
        engine,
        events: ev.inserted,
        days,
        totalS: Number(totalS.toFixed(1)),
        dayP50Ms: Math.round(pct(ms, 50)),
        dayMaxMs: Math.round(Math.max(...ms)),
        oneRunMs: Math.round(runMs),
      })
      console.log(`  [${engine}] ${days} days in ${totalS.toFixed(1)} s (one run ${Math.round(runMs)} ms)`)
    } finally {
      await cleanup()
    }
  }
  console.log('\nbackfill (EngineService.backfillDay in process, newest day first)')
  for (const r of rows) console.log('  ' + JSON.stringify(r))
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
  const out = join(import.meta.dirname, 'results', `backfill-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(out, JSON.stringify({ size, users, asOf, label: name, node: process.version, rows }, null, 2))
  console.log(`\nwrote ${out}`)
}

/** Backfills a label's last `days` days (newest first) as the backfill job does; total seconds and per-day ms. */
export async function backfillBench(
  svc: EngineService,
  labelId: string,
  definition: Definition,
  days: number,
): Promise<{ totalS: number; ms: number[] }> {
  const ms: number[] = []
  const t = performance.now()
  for (const date of backfillDates(asOf.slice(0, 10), days)) {
    const d = performance.now()
    await svc.backfillDay({ labelId, definition, date, tz: 'UTC', jobId: 'bench' })
    ms.push(performance.now() - d)
  }
  return { totalS: (performance.now() - t) / 1000, ms }
}
