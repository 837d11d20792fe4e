import type { SqlExecutor } from '../sql-executor.ts'

/**
 * Scratch tables (ingestion stages, refresh scans) are named `<prefix><13-digit ms><6 digits>`:
 * digits only after a fixed prefix (identifiers never come from input), unique per process, and
 * carrying their creation time, so a start can drop what a process that died mid-way left.
 */
let counter = 0

/** A new scratch table name with this prefix (`ingest_stage_`, `shared_scan_`). */
export function scratchTableName(prefix: string): string {
  counter = (counter + 1) % 1000
  const rand = Math.floor(Math.random() * 1000)
  return `${prefix}${Date.now()}${String(counter).padStart(3, '0')}${String(rand).padStart(3, '0')}`
}

/** When a scratch table name of this prefix says it was created, or null for another name. */
export function scratchCreatedAt(prefix: string, table: string, extraDigits = 0): number | null {
  const m = new RegExp(`^${prefix}(\\d{13})\\d{6}(\\d{${extraDigits}})?$`).exec(table)
  return m ? Number(m[1]) : null
}

/**
 * Drops this schema's scratch tables of a prefix older than `olderThanMs` (a day by default:
 * several servers may share one PostgreSQL, and another's may be in use). Returns how many.
 */
export async function dropStaleScratch(
  db: SqlExecutor,
  createdAt: (table: string) => number | null,
  prefix: string,
  olderThanMs: number,
  now: number,
): Promise<number> {
  const r = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE $1 AND c.relnamespace = current_schema()::regnamespace`,
    [`${prefix.replaceAll('_', '\\_')}%`],
  )
  let dropped = 0
  for (const { name } of r.rows) {
    const at = createdAt(name)
    if (at === null || now - at < olderThanMs) continue
    await db.exec(`DROP TABLE IF EXISTS ${name}`) // createdAt matched it: the prefix and digits only
    dropped++
  }
  return dropped
}
