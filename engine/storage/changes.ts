import { lockKey, type SqlExecutor } from '../sql-executor.ts'

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
 * Deletes the log rows every label's current results already include: those visible to the
 * oldest snapshot a label's current run read (xid below its xmin). Rows newer than that are kept;
 * with no such snapshot yet (no run since the log began) nothing is deleted. Skips (returns -1)
 * while a run is reading the log. Returns how many rows went.
 */
export async function pruneChanges(db: SqlExecutor): Promise<number> {
  if (!tracksChanges(db)) return 0
  return db.transaction(async (tx) => {
    const got = await tx.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${lockKey}) AS ok`, [PRUNE_LOCK])
    if (!got.rows[0]?.ok) return -1
    const r = await tx.query(
      `DELETE FROM data_changes WHERE xid < (
         SELECT min(pg_snapshot_xmin(r.data_snapshot::pg_snapshot)) FROM label_state s JOIN runs r ON r.id = s.run_id
          WHERE r.data_snapshot IS NOT NULL)`,
    )
    return r.affectedRows ?? 0
  })
}
