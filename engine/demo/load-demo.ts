import { ingestEventRecords, ingestUserRecords } from '../ingest/records.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { demoEvents, demoUsers, type DemoOptions } from './generate.ts'

/** Generates the seeded demo customers and events and stores them through the ingestion path. */
export async function loadDemo(db: SqlExecutor, opts: DemoOptions): Promise<{ users: number; events: number }> {
  const u = await ingestUserRecords(db, demoUsers(opts))
  const e = await ingestEventRecords(db, demoEvents(opts))
  if (!u.committed || !e.committed)
    throw new Error(`demo data was rejected: ${JSON.stringify([...u.errors, ...e.errors].slice(0, 3))}`)
  return { users: u.stored, events: e.inserted }
}
