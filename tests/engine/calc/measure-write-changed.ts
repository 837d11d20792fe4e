// Measures a run that writes only what changed against one that fills a new table and swaps, per share of
// changed users (not a test: `npx tsx tests/engine/calc/measure-write-changed.ts [pglite|postgres] [rows]`).
// Alternates the two ways three times per share and keeps the best of each; prints ms and WAL bytes.
import { newDb, type DbKind } from '../../helpers/db.ts'
import { EngineService } from '../../../engine/service.ts'
import { executeRun } from '../../../engine/calc/execute-run.ts'

const kind = (process.argv[2] ?? 'pglite') as DbKind
const rows = Number(process.argv[3] ?? 1_000_000)
const db = await newDb(kind)
let source = { sql: `SELECT uid, (uid % 97)::float8 AS value FROM users`, params: [] as unknown[] }
const svc = new EngineService(db, { compile: async () => source })
await svc.migrate()
await db.query(`INSERT INTO users (user_id) SELECT 'u' || g FROM generate_series(1, $1::int) g`, [rows])
const def = {
  dataType: 'number' as const,
  rule: { method: 'metric' as const, event: 'x', measure: { agg: 'count' as const } },
}
const lsn = async () => (await db.query<{ l: string }>(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0]?.l as string
const walSince = async (l: string) =>
  Number(
    (await db.query<{ b: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS b`, [l])).rows[0]
      ?.b,
  )
let gen = 0
async function once(writeChanged: boolean): Promise<{ ms: number; wal: number }> {
  const r = await svc.createRun({ labelId: 'L', trigger: 'manual', asOf: new Date().toISOString(), definition: def })
  const l = await lsn()
  const t = performance.now()
  const out = await executeRun(db, r.id, { tz: 'UTC', compile: async () => source, writeChanged })
  const ms = performance.now() - t
  if (out.run.status !== 'succeeded') throw new Error(out.run.error)
  return { ms, wal: await walSince(l) }
}
await once(false)
for (const pct of [0, 1, 10, 50, 100]) {
  const best = { inPlace: { ms: Infinity, wal: 0 }, swap: { ms: Infinity, wal: 0 } }
  for (let k = 0; k < 3; k++)
    for (const way of ['inPlace', 'swap'] as const) {
      // A new generation of values for pct% of the users (the others keep uid % 97).
      gen++
      source = {
        sql: `SELECT uid, CASE WHEN uid % 100 < ${pct} THEN (uid % 97 + ${gen * 1000})::float8 ELSE (uid % 97)::float8 END AS value FROM users`,
        params: [],
      }
      const m = await once(way === 'inPlace')
      if (m.ms < best[way].ms) best[way] = m
    }
  console.log(
    `${kind} ${rows} rows, ${pct}% changed: write only changed ${best.inPlace.ms.toFixed(0)} ms, ${(best.inPlace.wal / 1e6).toFixed(1)} MB WAL; new table + swap ${best.swap.ms.toFixed(0)} ms, ${(best.swap.wal / 1e6).toFixed(1)} MB WAL`,
  )
}
await db.dispose()
