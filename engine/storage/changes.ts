import { lockKey, type SqlExecutor } from '../sql-executor.ts'
import { incrementalLimits } from '../../shared/limits.ts'

/**
 * The change log that lets a label's next run recompute only the customers whose data changed
 * (engine/calc/incremental.ts). Every statement that inserts, updates or deletes rows of `users`
 * or of an event table `ev<N>` writes, through a statement-level trigger with a transition table,
 * the distinct uids it touched into `data_changes`, stamped with its transaction id (xid8). A run
 * records the snapshot its calculation read (`runs.data_snapshot`); the label's next run then
 * finds the customers changed since with `NOT pg_visible_in_snapshot(xid, snapshot)`: late events,
 * a re-ingested day, deleted users, new users and changed attributes, whoever wrote them (the
 * product's ingestion or SQL by hand). A TRUNCATE logs uid EVERYONE: the next run computes
 * everyone. Not on Citus (its distributed tables' triggers would run on the workers): runs there
 * recompute every customer. The log is kept (and pruned) with LABELS_INCREMENTAL off too.
 *
 * A row's `tbl` names the table changed (NULL in rows logged before it was kept): a label's run
 * reads the changes of users and of the event tables its statement reads, not of the others.
 * A row's `since` is set for events appended (an INSERT into an event table): the earliest time
 * among that customer's new rows. Rows appended at or after a run's asOf were in neither that
 * run's windows nor, at a later asOf, anywhere but in the part of a window that entered, which
 * the next run reads by time (compiler/window-edges.ts), so the change log need not name those
 * customers; and a count or a first/last of theirs is updated from the window's edges
 * (compiler/emit-delta.ts). Any other change (NULL `since`: users, updates, deletes) means
 * computing them from their events again.
 *
 * A new event's table is filled before it gets its triggers (its stage is renamed into place):
 * no label can have read an event that did not exist, so no run's snapshot needs those rows.
 */

/** The uid a TRUNCATE logs: every customer changed (no transition table tells which). */
export const EVERYONE = -1

export const changesDdl = `
CREATE TABLE IF NOT EXISTS data_changes (xid xid8 NOT NULL DEFAULT pg_current_xact_id(), uid int NOT NULL);
ALTER TABLE data_changes ADD COLUMN IF NOT EXISTS since timestamptz;
ALTER TABLE data_changes ADD COLUMN IF NOT EXISTS tbl text;
CREATE INDEX IF NOT EXISTS data_changes_xid ON data_changes (xid);
CREATE OR REPLACE FUNCTION labels_log_changes() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO data_changes (uid, tbl) VALUES (${EVERYONE}, TG_TABLE_NAME);
  ELSIF TG_OP = 'INSERT' AND TG_TABLE_NAME <> 'users' THEN
    INSERT INTO data_changes (uid, since, tbl) SELECT uid, min(time), TG_TABLE_NAME FROM new_rows GROUP BY uid;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO data_changes (uid, tbl) SELECT DISTINCT uid, TG_TABLE_NAME FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO data_changes (uid, tbl) SELECT DISTINCT uid, TG_TABLE_NAME FROM old_rows;
  ELSE
    INSERT INTO data_changes (uid, tbl) SELECT uid, TG_TABLE_NAME FROM old_rows UNION SELECT uid, TG_TABLE_NAME FROM new_rows;
  END IF;
  RETURN NULL;
END $$;
`

/** The statement triggers of one table (transition tables take one event each; TRUNCATE has none). */
function triggersDdl(table: string): string {
  const one = (op: 'INSERT' | 'UPDATE' | 'DELETE') => {
    const refs =
      op === 'INSERT'
        ? 'NEW TABLE AS new_rows'
        : op === 'DELETE'
          ? 'OLD TABLE AS old_rows'
          : 'OLD TABLE AS old_rows NEW TABLE AS new_rows'
    return `CREATE OR REPLACE TRIGGER ${table}_changes_${op.toLowerCase()} AFTER ${op} ON ${table}
      REFERENCING ${refs} FOR EACH STATEMENT EXECUTE FUNCTION labels_log_changes();`
  }
  const truncate = `CREATE OR REPLACE TRIGGER ${table}_changes_truncate AFTER TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION labels_log_changes();`
  return [one('INSERT'), one('UPDATE'), one('DELETE'), truncate].join('\n')
}

/** Only users and event tables are logged; their names go into DDL. */
function loggedTable(table: string): string {
  if (table !== 'users' && !/^ev\d+$/.test(table)) throw new Error(`unexpected table ${table}`)
  return table
}

/** Whether this database keeps the change log (not Citus, see above). */
export const tracksChanges = (db: SqlExecutor): boolean => db.citus !== true

/** Logs the changes of `table` (users or an event table) from now on; idempotent. */
export async function trackChanges(tx: SqlExecutor, table: string): Promise<void> {
  if (!tracksChanges(tx)) return
  await tx.exec(triggersDdl(loggedTable(table)))
}

/**
 * Creates the log and puts the triggers on users and every event table that lacks them (caller
 * holds the catalogue lock, or is the only process).
 */
export async function migrateChanges(tx: SqlExecutor): Promise<void> {
  if (!tracksChanges(tx)) return
  await tx.exec(changesDdl)
  const missing = await tx.query<{ tbl: string }>(
    `SELECT t.tbl FROM (SELECT 'users' AS tbl, 0 AS id UNION ALL SELECT tbl, id FROM catalogue_events) t
      WHERE (t.tbl = 'users' OR t.tbl ~ '^ev[0-9]+$') AND to_regclass(t.tbl) IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = to_regclass(t.tbl) AND g.tgname = t.tbl || '_changes_truncate')
      ORDER BY t.id`,
  )
  for (const { tbl } of missing.rows) await trackChanges(tx, tbl)
}

/**
 * Citus: a database used before the extension was installed has the log's triggers, which Citus
 * won't distribute a table with (and there would be no log to read); removes them and the log
 * before its tables are distributed (storage/ddl.ts distributeExisting).
 */
export async function untrackChanges(tx: SqlExecutor, tables: readonly string[]): Promise<void> {
  for (const t of tables.map(loggedTable))
    for (const op of ['insert', 'update', 'delete', 'truncate'])
      await tx.exec(`DROP TRIGGER IF EXISTS ${t}_changes_${op} ON ${t}`)
  // The function stays (local and unused): Citus refuses a function command in a transaction that
  // already ran parallel work on a distributed table, as this migration has.
  await tx.exec(`DROP TABLE IF EXISTS data_changes`)
}

/**
 * Serialises pruning the log with the runs that read it: a run holds the shared lock from before
 * it takes its snapshot until it commits (its snapshot is then in `runs`); pruning takes the
 * exclusive one, or skips when a run holds it.
 */
const PRUNE_LOCK = 'data-changes-prune'
export async function holdChangesLog(tx: SqlExecutor): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock_shared(${lockKey})`, [PRUNE_LOCK])
}

/**
 * Pruning rewrites the log instead of deleting from it when it would delete at least this many
 * rows and no fewer than it keeps: DELETE leaves their space in the table, and every run's
 * collection reads the whole table (at 100M events, the day-2 log's 840,734 rows lay in 546 MB, the
 * space of the first load's 10M; README, Benchmarks, "The change log rewritten").
 */
export const COMPACT_MIN_ROWS = 10_000

/**
 * A label whose current results are older than this (their run finished longer ago) no longer
 * holds the log: rows after its snapshot are pruned too, and its next run computes everyone
 * (incrementalBase sees its snapshot below CHANGES_PRUNED_BELOW). Without it one label calculated
 * once, or failing every day since, kept every change ever logged. A daily or weekly label keeps
 * its incremental runs; a month of changes touches most customers anyway.
 */
export const CHANGES_KEPT_DAYS = incrementalLimits.changesKeptDays

/** The meta key of the xid below which the log was pruned (a jsonb string of an xid8). */
export const CHANGES_PRUNED_BELOW = 'changes_pruned_below'

/**
 * Where pruning cuts: the lowest xmin of the snapshots behind the labels' current results from the
 * last CHANGES_KEPT_DAYS, and with none the oldest transaction still running (every committed
 * change can go: a later run of any label computes everyone).
 */
const PRUNE_BOUND = `(SELECT coalesce(min(pg_snapshot_xmin(r.data_snapshot::pg_snapshot)), pg_snapshot_xmin(pg_current_snapshot()))
  FROM label_state s JOIN runs r ON r.id = s.run_id
  WHERE r.data_snapshot IS NOT NULL AND r.finished_at > now() - interval '${CHANGES_KEPT_DAYS} days')`

/**
 * SQL true when a run whose snapshot is `$snapshot` can still find every change since in the log:
 * its xmin is at or above where pruning cut (no pruning yet: true).
 */
export const stillLogged = (snapshot: string) =>
  `coalesce(pg_snapshot_xmin(${snapshot}::pg_snapshot) >= (SELECT (value #>> '{}')::xid8 FROM meta WHERE key = '${CHANGES_PRUNED_BELOW}'), true)`

/**
 * Removes the log rows every label's current results already include: those visible to the
 * oldest snapshot a label's current run read (xid below its xmin), among the labels whose run
 * finished in the last CHANGES_KEPT_DAYS (PRUNE_BOUND); the cut is kept in `meta`, and a label
 * whose snapshot is below it computes everyone next (stillLogged). Skips (returns -1)
 * while a run is reading the log. Returns how many rows went. When that is most of the log, the
 * kept rows are copied aside and the table truncated (rewriteChanges); else they are deleted.
 */
export async function pruneChanges(db: SqlExecutor): Promise<number> {
  if (!tracksChanges(db)) return 0
  return db.transaction(async (tx) => {
    const got = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${lockKey}) AS ok`, [PRUNE_LOCK])
    if (!got.rows[0]?.ok) return -1
    // One cut for every statement below (the current snapshot, label deletions move the bound).
    const cut = (await tx.query<{ x: string | null }>(`SELECT ${PRUNE_BOUND}::text AS x`)).rows[0]?.x
    if (!cut) return 0
    // No transaction below the cut is still open (it is a snapshot's xmin): `gone` stays exact.
    const n = await tx.query<{ gone: string; kept: string }>(
      `SELECT count(*) FILTER (WHERE xid < $1::xid8) AS gone, count(*) FILTER (WHERE xid >= $1::xid8) AS kept FROM data_changes`,
      [cut],
    )
    const gone = Number(n.rows[0]?.gone ?? 0)
    if (gone === 0) return 0
    // Before anything goes: runs read this under the shared lock (incrementalBase, stillLogged).
    await tx.query(
      `INSERT INTO meta (key, value) VALUES ($1, to_jsonb($2::text))
        ON CONFLICT (key) DO UPDATE SET value = to_jsonb(greatest((meta.value #>> '{}')::xid8, $2::xid8)::text)`,
      [CHANGES_PRUNED_BELOW, cut],
    )
    if (gone >= COMPACT_MIN_ROWS && gone >= Number(n.rows[0]?.kept ?? 0) && (await rewriteChanges(tx, cut))) return gone
    const r = await tx.query('DELETE FROM data_changes WHERE xid < $1::xid8', [cut])
    return r.affectedRows ?? 0
  })
}

/**
 * Rewrites the log with the rows pruneChanges keeps only (xid at or above `cut`): under the table's
 * exclusive lock they are copied to a temporary table, the log truncated (a new, empty file) and the
 * rows put back as they were (xid, uid, since, tbl). The lock is taken NOWAIT, under a savepoint:
 * an ingestion writing the log holds it until it commits, and then pruning deletes instead of
 * stopping writers behind it. TRUNCATE is not MVCC-safe, but the log's only readers, runs, hold
 * the prune lock's shared side from before their snapshot, so none reads while this runs (the
 * caller holds the exclusive side). Returns whether it rewrote the log.
 */
async function rewriteChanges(tx: SqlExecutor, cut: string): Promise<boolean> {
  try {
    await tx.transaction(async (sp) => {
      await sp.exec('LOCK TABLE data_changes IN ACCESS EXCLUSIVE MODE NOWAIT')
      await sp.query(
        `CREATE TEMP TABLE data_changes_kept ON COMMIT DROP AS SELECT xid, uid, since, tbl FROM data_changes WHERE xid >= $1::xid8`,
        [cut],
      )
      await sp.exec(`TRUNCATE data_changes;
        INSERT INTO data_changes (xid, uid, since, tbl) SELECT xid, uid, since, tbl FROM data_changes_kept;
        DROP TABLE data_changes_kept`)
    })
    return true
  } catch (e) {
    if ((e as { code?: string }).code === '55P03') return false // lock_not_available: a writer holds it
    throw e
  }
}
