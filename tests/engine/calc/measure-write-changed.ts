// Measures a run that writes only what changed against one that fills a new table and swaps, per share of
// changed users (not a test: `npx tsx tests/engine/calc/measure-write-changed.ts [pglite|postgres] [rows]`):
// in place, swap (LABELS_RESULT_WRITES=swap) and auto's swap (which also counts the changed users against
// the old table). Alternates the ways three times per share and keeps the best of each; prints ms and WAL
// bytes. Chooses result-swap.ts AUTO_CHANGED_MAX.
import { newDb, type DbKind } from '../../helpers/db.ts'
import { EngineService } from '../../../engine/service.ts'
import { executeRun } from '../../../engine/calc/execute-run.ts'
import type { ResultWrites } from '../../../engine/calc/result-swap.ts'

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
const ways = { inPlace: 'changed', swap: 'swap', autoSwap: 'auto' } as const
async function once(resultWrites: ResultWrites): Promise<{ ms: number; wal: number; writes?: string }> {
  // auto swaps when the last run's count of changed users is unknown: forget it.
  if (resultWrites === 'auto')
    await db.query(
      `UPDATE runs SET changed_users = NULL WHERE id = (SELECT run_id FROM label_state WHERE label_id = 'L')`,
    )
  const r = await svc.createRun({ labelId: 'L', trigger: 'manual', asOf: new Date().toISOString(), definition: def })
  const l = await lsn()
  const t = performance.now()
  const out = await executeRun(db, r.id, { tz: 'UTC', compile: async () => source, resultWrites })
  const ms = performance.now() - t
  if (out.run.status !== 'succeeded') throw new Error(out.run.error)
  return { ms, wal: await walSince(l), ...(out.run.resultWrites ? { writes: out.run.resultWrites } : {}) }
}
await once('swap')
for (const pct of [0, 1, 2, 5, 10, 50, 100]) {
  const best = {
    inPlace: { ms: Infinity, wal: 0 },
    swap: { ms: Infinity, wal: 0 },
    autoSwap: { ms: Infinity, wal: 0 },
  }
  for (let k = 0; k < 3; k++)
    for (const way of ['inPlace', 'swap', 'autoSwap'] as const) {
      // A new generation of values for pct% of the users (the others keep uid % 97).
      gen++
      source = {
        sql: `SELECT uid, CASE WHEN uid % 100 < ${pct} THEN (uid % 97 + ${gen * 1000})::float8 ELSE (uid % 97)::float8 END AS value FROM users`,
        params: [],
      }
      const m = await once(ways[way])
      if (m.writes !== (way === 'inPlace' ? 'changed' : 'swap')) throw new Error(`${way} wrote ${m.writes}`)
      if (m.ms < best[way].ms) best[way] = m
    }
  const f = (m: { ms: number; wal: number }) => `${m.ms.toFixed(0)} ms, ${(m.wal / 1e6).toFixed(1)} MB WAL`
  console.log(
    `${kind} ${rows} rows, ${pct}% changed: write only changed ${f(best.inPlace)}; new table + swap ${f(best.swap)}; auto's swap (+ count) ${f(best.autoSwap)}`,
  )
}
await db.dispose()
