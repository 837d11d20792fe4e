import { xactLock, type SqlExecutor } from '../sql-executor.ts'
import { sqlType, type ColumnRef, type ValueType } from './catalogue.ts'
import { addEventIdsTable, distributeByUid } from './citus.ts'
import { trackChanges } from './changes.ts'

/** Takes the transaction-scoped catalogue lock (serialises catalogue changes of concurrent ingestions); call inside the transaction that extends it. */
export async function lockCatalogue(tx: SqlExecutor): Promise<void> {
  await xactLock(tx, 'catalogue')
}

/** Registers a new user attribute (owner '') or event property and adds its `c<N>` column. */
export async function addColumn(
  tx: SqlExecutor,
  owner: { event: string; table: string } | null,
  name: string,
  type: ValueType,
): Promise<ColumnRef> {
  const ref = await registerColumn(tx, owner?.event ?? null, name, type)
  await tx.exec(`ALTER TABLE ${owner ? owner.table : 'users'} ADD COLUMN ${ref.column} ${sqlType[type]}`)
  return ref
}

/** Registers a new attribute (event null) or property in the catalogue only; the caller provides its `c<N>` column. */
export async function registerColumn(
  tx: SqlExecutor,
  event: string | null,
  name: string,
  type: ValueType,
): Promise<ColumnRef> {
  const r = await tx.query<{ col: string }>(
    `INSERT INTO catalogue_columns (owner, name, type, col) VALUES ($1, $2, $3, 'c' || nextval('catalogue_col_seq')) RETURNING col`,
    [event ?? '', name, type],
  )
  const col = r.rows[0]?.col
  if (!col || !/^c\d+$/.test(col)) throw new Error(`unexpected column name ${col}`)
  return { name, type, column: col }
}

/**
 * Registers a new event and creates its `ev<N>` table (layout in ddl.ts). With
 * `deferUnique` the event_id constraint is left out: a bulk load fills the empty table
 * first and then calls `addEventIdUnique`, because one index build after the load is
 * about twice as fast as maintaining the index row by row.
 */
export async function addEvent(tx: SqlExecutor, name: string, opts: { deferUnique?: boolean } = {}): Promise<string> {
  const table = await registerEvent(tx, name)
  await tx.exec(eventTableDdl(table))
  await distributeByUid(tx, table)
  await addEventIdsTable(tx, table)
  if (!opts.deferUnique) await addEventIdUnique(tx, table)
  await addUidIndex(tx, table)
  await trackChanges(tx, table)
  return table
}

/** Registers a new event in the catalogue only and returns its table name; the caller creates the table. */
export async function registerEvent(tx: SqlExecutor, name: string): Promise<string> {
  const r = await tx.query<{ id: number }>(`INSERT INTO catalogue_events (name, tbl) VALUES ($1, '') RETURNING id`, [
    name,
  ])
  const id = r.rows[0]?.id
  if (!Number.isInteger(id)) throw new Error('catalogue_events insert returned no id')
  const table = `ev${id}`
  await tx.query('UPDATE catalogue_events SET tbl = $1 WHERE id = $2', [table, id])
  return table
}

/** Adds the event_id UNIQUE constraint of an event table (fails if ids repeat). */
export async function addEventIdUnique(tx: SqlExecutor, table: string): Promise<void> {
  await tx.exec(eventIdKeyDdl(tx, table))
}

/** The event_id key: (event_id), or on Citus (uid, event_id), as a key must hold the distribution column. */
export function eventIdKeyDdl(db: SqlExecutor, table: string): string {
  return `ALTER TABLE ${table} ADD CONSTRAINT ${table}_event_id_key UNIQUE (${db.citus ? 'uid, ' : ''}event_id)`
}

/**
 * Indexes an event table by uid, so one customer's events are found without a scan of the whole
 * table (explain: `SELECT … WHERE uid = $1`, ~10 ms instead of 1–3 s at 10M events, README
 * "Explain"). Built with the table (ingestion, migrate). On Citus the event_id key
 * `(uid, event_id)` leads with uid already: nothing to add. The index by time is not built here:
 * only incremental runs read it, and the first one builds it (addTimeIndexes).
 */
export async function addUidIndex(tx: SqlExecutor, table: string): Promise<void> {
  if (tx.citus) return
  await tx.exec(`CREATE INDEX IF NOT EXISTS ${table}_uid ON ${table} (uid)`)
}

/** Event tables that have no index by time yet (its callers skip Citus, where no run is incremental). */
export const unindexedByTime = `SELECT e.tbl FROM catalogue_events e
  WHERE e.tbl ~ '^ev[0-9]+$' AND to_regclass(e.tbl) IS NOT NULL AND to_regclass(e.tbl || '_time') IS NULL
  ORDER BY e.id`

/**
 * Indexes by time every event table that has no such index yet: an incremental run finds the
 * customers with events on the days that entered or left a window through it (calc/incremental.ts),
 * an index range instead of a scan of the table. Not built at ingestion: over the first load of
 * 10.5M events it made 23–35 s of the commit on PGlite (a sort of every row's time; 15.8 s alone on
 * a faster day; the uid index of events listed customer by customer costs a sixth of that), which
 * the first refresh, computing everyone, does not need. So the first incremental run of any label
 * pays for it once (calc/execute-run.ts, before the run starts, so that its time is not the run's);
 * later appends keep it up to date row by row. One table per transaction under an advisory lock,
 * so that processes sharing the database build each once. Returns the tables indexed and the time
 * it took.
 */
export async function addTimeIndexes(db: SqlExecutor): Promise<{ tables: string[]; ms: number }> {
  const built: string[] = []
  if (db.citus) return { tables: built, ms: 0 }
  const t0 = performance.now()
  for (const { tbl } of (await db.query<{ tbl: string }>(unindexedByTime)).rows) {
    await db.transaction(async (tx) => {
      await xactLock(tx, 'time-index')
      // Built by another process meanwhile, or the table dropped since it was listed: nothing to do.
      const now = await tx.query<{ built: boolean; gone: boolean }>(
        `SELECT to_regclass($1) IS NOT NULL AS built, to_regclass($2) IS NULL AS gone`,
        [`${tbl}_time`, tbl],
      )
      if (now.rows[0]?.built || now.rows[0]?.gone) return
      await tx.exec(`CREATE INDEX ${tbl}_time ON ${tbl} (time)`)
      built.push(tbl)
    })
  }
  return { tables: built, ms: performance.now() - t0 }
}

/** DDL of one event table. */
export function eventTableDdl(table: string): string {
  return `CREATE TABLE ${table} (seq bigint NOT NULL, uid int NOT NULL, time timestamptz NOT NULL, event_id text)`
}
