import type { SqlExecutor } from '../../../engine/sql-executor.ts'

/** How many ingestion staging tables exist in the test's schema. */
export async function stagingTables(db: SqlExecutor): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 'ingest_stage_%' AND schemaname = current_schema()`,
  )
  return r.rows[0]?.n ?? 0
}

/**
 * Waits (up to 15 s: the suite runs files in parallel) until n staging tables exist. A stage is
 * created once its first batch is written, so its request has read the catalogue and, for
 * events, has its users' uids. With worker parsing, push only queues a chunk: tests wait here.
 */
export async function untilStaged(db: SqlExecutor, n: number): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if ((await stagingTables(db)) >= n) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`${n} staging tables never appeared`)
}
