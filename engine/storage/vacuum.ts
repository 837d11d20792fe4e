import type { SqlExecutor } from '../sql-executor.ts'

/**
 * Autovacuum's job where there is no autovacuum. PGlite is one backend without background workers,
 * so nothing ever vacuumed its tables, and the rows that updates and deletes leave behind were never
 * reclaimed (PostgreSQL's page pruning frees room inside a page, but new rows only find it through
 * the free space map, which VACUUM keeps). Measured on PGlite (README, Architecture, "Vacuuming on PGlite"):
 *  - the collaboration store replaces its snapshot at each compaction (every 500 updates, and when
 *    idle): each one left the whole previous snapshot in the TOAST table, so 60 compactions of a
 *    1 MB document kept 70.7 MB (a 5,000-label workspace's document is ~2.6 MB);
 *  - a result table written in place every day (2% of its customers updated, 0.1% replaced) for
 *    60 days was 1.5× its size, and a full read of it 15% slower;
 *  - the change log is pruned by DELETE, and every run's new result table adds and removes rows of
 *    the system catalogues (~5 kB per table created and dropped).
 *
 * `vacuumDue` vacuums the tables of the current schema and the system catalogues whose dead rows
 * (their TOAST table's included) passed autovacuum's default threshold: 50 + 20% of the live rows.
 * It does nothing on PostgreSQL and Citus, where autovacuum does this (and more) in the background.
 * Called outside a transaction (VACUUM can't run in one); PGlite runs it while no transaction of
 * another caller is open, and it blocks that database until done, as any statement does there.
 */

/** autovacuum_vacuum_threshold and autovacuum_vacuum_scale_factor's defaults. */
export const VACUUM_BASE = 50
export const VACUUM_SCALE = 0.2

/** The tables (schema-qualified, quoted) past the threshold, most dead rows first. */
export async function tablesDue(db: SqlExecutor): Promise<string[]> {
  // Statistics reach the views at most once a second; this statement's end flushes them now.
  await db.query('SELECT pg_stat_force_next_flush()')
  const r = await db.query<{ tbl: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS tbl
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_stat_all_tables s ON s.relid = c.oid
       LEFT JOIN pg_stat_all_tables t ON t.relid = c.reltoastrelid
      WHERE c.relkind IN ('r', 'm') AND n.nspname IN (current_schema(), 'pg_catalog')
        AND (s.n_dead_tup > $1::float8 + $2::float8 * s.n_live_tup
             OR coalesce(t.n_dead_tup, 0) > $1::float8 + $2::float8 * coalesce(t.n_live_tup, 0))
      ORDER BY s.n_dead_tup + coalesce(t.n_dead_tup, 0) DESC`,
    [VACUUM_BASE, VACUUM_SCALE],
  )
  return r.rows.map((x) => x.tbl)
}

/**
 * On PGlite, vacuums every table past the threshold (tablesDue) and returns them; on PostgreSQL
 * returns [] without a statement. A table dropped meanwhile (a result table swapped out) is skipped.
 */
export async function vacuumDue(db: SqlExecutor): Promise<string[]> {
  if (db.kind !== 'pglite') return []
  const done: string[] = []
  for (const tbl of await tablesDue(db)) {
    try {
      await db.exec(`VACUUM ${tbl}`)
      done.push(tbl)
    } catch (e) {
      if ((e as { code?: string }).code !== '42P01') throw e // undefined_table: gone since
    }
  }
  return done
}
