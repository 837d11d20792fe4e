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
  await addEventIndexes(tx, table)
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
 * "Explain"), and by time (below). On Citus the event_id key `(uid, event_id)` leads with uid
 * already, and no run is incremental there: nothing to add.
 */
export async function addEventIndexes(tx: SqlExecutor, table: string): Promise<void> {
  if (tx.citus) return
  await tx.exec(`CREATE INDEX IF NOT EXISTS ${table}_uid ON ${table} (uid)`)
  // An incremental run finds the customers with events on the days that entered or left a window
  // through it (calc/incremental.ts): an index range instead of a scan of the table.
  await tx.exec(`CREATE INDEX IF NOT EXISTS ${table}_time ON ${table} (time)`)
}

/** DDL of one event table. */
export function eventTableDdl(table: string): string {
  return `CREATE TABLE ${table} (seq bigint NOT NULL, uid int NOT NULL, time timestamptz NOT NULL, event_id text)`
}
