import type { SqlExecutor } from '../sql-executor.ts'

/**
 * The number of customers, kept as they are written instead of counted per run. Every run of a
 * label stores its summary and history snapshot against the customers it ran over, and counting
 * `users` took ~0.1 s per run at 1M customers (`npm run bench -- pg-settings`, 10M events:
 * 10.5 s of a 100-label refresh's 272 s; README "Benchmarks").
 *
 * `user_count` holds one row per statement that added or removed customers, written by statement
 * triggers on `users` (the same transition tables the change log's triggers read:
 * storage/changes.ts), so the count is in the same transaction as the rows: a run's snapshot sees
 * exactly the count of the users it sees, whoever wrote them (ingestion, deletions, SQL by hand,
 * a rolled-back savepoint). Rows rather than one counter, so that concurrent writers never wait on
 * each other; `compactUserCount` folds them into one now and then. A TRUNCATE can't say how many
 * rows went (it may also run in a transaction whose snapshot misses others' rows): it writes a NULL
 * row, the count is then "unknown" and readers count `users` until compaction recounts it under a
 * lock. Not on Citus (Citus won't distribute a table with triggers): there `count(*)` runs on the
 * workers in parallel.
 */

const userCountDdl = `
CREATE TABLE IF NOT EXISTS user_count (n bigint);
CREATE OR REPLACE FUNCTION labels_count_users() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO user_count (n) VALUES (NULL);
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO user_count (n) SELECT count(*) FROM new_rows HAVING count(*) > 0;
  ELSE
    INSERT INTO user_count (n) SELECT -count(*) FROM old_rows HAVING count(*) > 0;
  END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER users_count_insert AFTER INSERT ON users
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION labels_count_users();
CREATE OR REPLACE TRIGGER users_count_delete AFTER DELETE ON users
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION labels_count_users();
CREATE OR REPLACE TRIGGER users_count_truncate AFTER TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION labels_count_users();
`

/** The trigger names, for untrackUserCount. */
const TRIGGERS = ['users_count_insert', 'users_count_delete', 'users_count_truncate'] as const

/** Whether this database keeps the count (not Citus, see above). */
export const keepsUserCount = (db: SqlExecutor): boolean => db.citus !== true

/**
 * Creates the count and its triggers where missing, starting from `count(*)` with writers to
 * `users` held off meanwhile (SHARE lock), so no customer is counted twice or missed. Idempotent;
 * a no-op once the triggers exist. Run in the migration (one transaction on PostgreSQL).
 */
export async function migrateUserCount(tx: SqlExecutor): Promise<void> {
  if (!keepsUserCount(tx)) return
  const r = await tx.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('users') AND tgname = 'users_count_truncate') AS ok`,
  )
  if (r.rows[0]?.ok) return
  await tx.transaction(async (t) => {
    await t.exec('LOCK TABLE users IN SHARE MODE')
    await t.exec(userCountDdl)
    await t.exec('DELETE FROM user_count; INSERT INTO user_count (n) SELECT count(*) FROM users')
  })
}

/** Citus: drops the triggers (and the count) before `users` is distributed (storage/ddl.ts). */
export async function untrackUserCount(tx: SqlExecutor): Promise<void> {
  for (const t of TRIGGERS) await tx.exec(`DROP TRIGGER IF EXISTS ${t} ON users`)
  await tx.exec('DROP TABLE IF EXISTS user_count')
}

/** Whether the count table exists (a database not migrated since it came has none). */
async function kept(db: SqlExecutor): Promise<boolean> {
  const r = await db.query<{ ok: boolean }>(`SELECT to_regclass('user_count') IS NOT NULL AS ok`)
  return r.rows[0]?.ok === true
}

/**
 * The number of customers in the caller's snapshot: the kept count, or `count(*)` on Citus, where
 * it is unknown (after a TRUNCATE, until compaction) or not kept (a database not migrated yet).
 */
export async function countUsers(db: SqlExecutor): Promise<number> {
  if (keepsUserCount(db) && (await kept(db))) {
    const r = await db.query<{ n: number | null }>(
      `SELECT CASE WHEN bool_and(n IS NOT NULL) IS NOT FALSE THEN COALESCE(sum(n), 0)::float8 END AS n FROM user_count`,
    )
    const n = r.rows[0]?.n
    if (n !== null && n !== undefined) return Number(n)
  }
  const r = await db.query<{ n: number }>('SELECT count(*)::float8 AS n FROM users')
  return Number(r.rows[0]?.n ?? 0)
}

/** Rows of `user_count` past which compactUserCount folds them. */
const COMPACT_ROWS = 64

/**
 * Folds the count's rows into one: when there are more than COMPACT_ROWS, their sum replaces the
 * rows it read (rows other transactions are writing meanwhile stay beside it); when the count is
 * unknown (a TRUNCATE), it is recounted with writers held off. Returns whether it changed anything.
 */
export async function compactUserCount(db: SqlExecutor): Promise<boolean> {
  if (!keepsUserCount(db) || !(await kept(db))) return false
  return db.transaction(async (tx) => {
    const r = await tx.query<{ rows: number; unknown: boolean }>(
      `SELECT count(*)::int AS rows, COALESCE(bool_or(n IS NULL), false) AS unknown FROM user_count`,
    )
    const { rows = 0, unknown = false } = r.rows[0] ?? {}
    if (unknown) {
      await tx.exec('LOCK TABLE users IN SHARE MODE')
      await tx.exec('DELETE FROM user_count; INSERT INTO user_count (n) SELECT count(*) FROM users')
      return true
    }
    if (rows <= COMPACT_ROWS) return false
    // The DELETE may see a TRUNCATE's NULL that committed after the check above: the sum is then NULL too.
    await tx.exec(
      `WITH gone AS (DELETE FROM user_count RETURNING n)
       INSERT INTO user_count (n) SELECT CASE WHEN bool_and(n IS NOT NULL) THEN sum(n) END FROM gone HAVING count(*) > 0`,
    )
    return true
  })
}
