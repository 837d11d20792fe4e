import type { SqlExecutor } from '../sql-executor.ts'

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
CREATE TABLE IF NOT EXISTS users (uid serial PRIMARY KEY, user_id text NOT NULL UNIQUE);
`

/** Creates the core tables if missing; idempotent. */
export async function migrate(db: SqlExecutor): Promise<void> {
  await db.exec(coreDdl)
}
