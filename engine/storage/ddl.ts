import type { SqlExecutor } from '../sql-executor.ts'
import { addEventIdsScratch, addEventIdsTable, distributeByUid } from './citus.ts'
import { addUidIndex, eventIdKeyDdl, lockCatalogue } from './extend.ts'
import { migrateChanges, untrackChanges } from './changes.ts'
import { migrateUserCount, untrackUserCount } from './user-count.ts'

/**
 * The fixed part of the storage layout. Customer data is column-per-attribute so
 * aggregations read typed columns, and one table per event name (`ev<N>`) so a rule
 * over `purchase` never scans `app_open` rows. Those per-event tables are created by
 * ingestion when an event is first seen:
 *
 *   ev<N>(seq bigint NOT NULL  -- ingestion order, ties of first/last: ticket << 32 | row, the ticket
 *                              -- from event_seq once per request, row its row number
 *         uid int NOT NULL     -- users.uid
 *         time timestamptz NOT NULL,
 *         event_id text UNIQUE,
 *         c<M> <type> ...)     -- one column per property, see catalogue_columns
 */
export const coreDdl = `
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS catalogue_events (id serial PRIMARY KEY, name text NOT NULL UNIQUE, tbl text NOT NULL);
CREATE TABLE IF NOT EXISTS catalogue_columns (
  id serial PRIMARY KEY,
  owner text NOT NULL,            -- '' = user attribute, else the event name
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('string','number','boolean','date')),
  col text NOT NULL,
  UNIQUE (owner, name)
);
CREATE SEQUENCE IF NOT EXISTS catalogue_col_seq;
CREATE SEQUENCE IF NOT EXISTS event_seq;
`

/** The users table; on Citus user_id is indexed but kept unique by ingestion (see citus.ts). */
const usersDdl = `CREATE TABLE IF NOT EXISTS users (uid serial PRIMARY KEY, user_id text NOT NULL UNIQUE);`
const citusUsersDdl = `CREATE TABLE users (uid serial PRIMARY KEY, user_id text NOT NULL);
CREATE INDEX users_user_id ON users (user_id);`

/** Creates the core tables if missing; idempotent. On Citus it distributes the customer tables. */
export async function migrate(db: SqlExecutor): Promise<void> {
  await db.exec(coreDdl)
  if (!db.citus) {
    await db.exec(usersDdl)
    await indexEventTables(db)
    await migrateChanges(db)
    await migrateUserCount(db)
    return
  }
  await db.transaction(async (tx) => {
    await lockCatalogue(tx)
    const r = await tx.query<{ users: string | null; distributed: boolean }>(
      `SELECT to_regclass('users')::text AS users,
              EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass('users')) AS distributed`,
    )
    await addEventIdsScratch(tx) // first: the ev<N>_ids tables are co-located with it
    if (r.rows[0]?.users === null) {
      await tx.exec(citusUsersDdl)
      await distributeByUid(tx, 'users')
    } else if (!r.rows[0]?.distributed) await distributeExisting(tx)
  })
}

/**
 * Event tables created before they were indexed by uid get the index (once; a no-op after). Their
 * index by time is the first incremental run's (extend.ts addTimeIndexes).
 * Under the catalogue lock, so two processes starting together don't build it twice.
 */
async function indexEventTables(db: SqlExecutor): Promise<void> {
  const missing = `SELECT e.tbl FROM catalogue_events e
    WHERE e.tbl ~ '^ev[0-9]+$' AND to_regclass(e.tbl) IS NOT NULL
      AND to_regclass(e.tbl || '_uid') IS NULL ORDER BY e.id`
  if ((await db.query(missing)).rows.length === 0) return
  await db.transaction(async (tx) => {
    await lockCatalogue(tx)
    for (const { tbl } of (await tx.query<{ tbl: string }>(missing)).rows) await addUidIndex(tx, tbl)
  })
}

/**
 * A database that was used before the citus extension was installed (or by an older version
 * that kept every table local): its customer tables become distributed, their rows moved to
 * the workers. Runs once, under the catalogue lock.
 */
async function distributeExisting(tx: SqlExecutor): Promise<void> {
  // create_distributed_table copies the rows to the shards and leaves them in the coordinator's
  // table too (hidden, but on its disk): they are removed once copied.
  const move = async (table: string) => {
    await distributeByUid(tx, table)
    await tx.query('SELECT truncate_local_data_after_distributing_table($1::regclass)', [table])
  }
  const ev = await tx.query<{ tbl: string }>(`SELECT tbl FROM catalogue_events ORDER BY id`)
  const eventTables = ev.rows.map((r) => r.tbl).filter((t) => /^ev\d+$/.test(t))
  await untrackChanges(tx, ['users', ...eventTables])
  await untrackUserCount(tx)
  await tx.exec(`ALTER TABLE users DROP CONSTRAINT IF EXISTS users_user_id_key;
CREATE INDEX IF NOT EXISTS users_user_id ON users (user_id);`)
  await move('users')
  for (const { tbl } of ev.rows) {
    if (!/^ev\d+$/.test(tbl)) continue
    await tx.exec(`ALTER TABLE ${tbl} DROP CONSTRAINT IF EXISTS ${tbl}_event_id_key`)
    await tx.exec(eventIdKeyDdl(tx, tbl))
    await move(tbl)
    await addEventIdsTable(tx, tbl)
    await tx.exec(`INSERT INTO ${tbl}_ids SELECT event_id FROM ${tbl} WHERE event_id IS NOT NULL`)
  }
  const calc = await tx.query<{ ok: boolean }>(`SELECT to_regclass('label_state') IS NOT NULL AS ok`)
  if (!calc.rows[0]?.ok) return
  const res = await tx.query<{ t: string }>(`SELECT result_table AS t FROM label_state`)
  for (const { t } of res.rows) if (/^res_\d+$/.test(t)) await move(t)
}
