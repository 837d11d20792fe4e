// Measures what a result swap costs at 1M covered users (not a test: `npx tsx tests/engine/calc/measure-swap.ts [pglite|postgres] [rows]`).
import { newDb, type DbKind } from '../../helpers/db.ts'
import { EngineService } from '../../../engine/service.ts'
import { newResultTable, keyResultTable, swapResults } from '../../../engine/calc/result-swap.ts'

const kind = (process.argv[2] ?? 'pglite') as DbKind
const rows = Number(process.argv[3] ?? 1_000_000)
const db = await newDb(kind)
const source = { sql: `SELECT uid, (uid % 97)::float8 AS value FROM users`, params: [] }
const svc = new EngineService(db, { compile: async () => source })
await svc.migrate()
await db.query(`INSERT INTO users (user_id) SELECT 'u' || g FROM generate_series(1, $1::int) g`, [rows])

const time = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now()
  const out = await fn()
  console.log(`${kind} ${rows} rows: ${what} ${(performance.now() - t).toFixed(0)} ms`)
  return out
}
const def = {
  dataType: 'number' as const,
  rule: { method: 'metric' as const, event: 'x', measure: { agg: 'count' as const } },
}
for (const i of [1, 2]) {
  const r = await svc.createRun({ labelId: 'L', trigger: 'manual', asOf: new Date().toISOString(), definition: def })
  const done = await time(`full run #${i} (compute, key, snapshot, swap)`, () => svc.executeRun(r.id, { tz: 'UTC' }))
  if (done.status !== 'succeeded') throw new Error(done.error)
}
// The swap alone: a pre-filled 1M-row table replaces the current 1M-row one.
const table = await db.transaction(async (tx) => {
  const t = await newResultTable(tx, 'number', false)
  await tx.query(`INSERT INTO ${t} SELECT uid, value FROM (${source.sql}) s`)
  await keyResultTable(tx, t)
  return t
})
await time('swap alone (pointer update + DROP of the old 1M-row table, one transaction)', () =>
  db.transaction((tx) =>
    swapResults(tx, {
      labelId: 'L',
      runId: 'r_x',
      table,
      dataType: 'number',
      asOf: new Date().toISOString(),
      tz: 'UTC',
      totalUsers: rows,
      coveredUsers: rows,
    }),
  ),
)
await time('distribution read after the swap', () => svc.distribution('L', 'number', {}))
await db.dispose()
