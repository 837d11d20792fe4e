import type { SqlExecutor } from '../sql-executor.ts'

/**
 * Citus: on a coordinator (`db.citus`, the extension is installed in the database) every table
 * keyed by customer is a distributed table, hash-distributed by `uid` and co-located with
 * `users`, so a compiled query (per-uid aggregates joined to users, DISTINCT ON (uid), window
 * functions partitioned by uid) runs whole on each worker over its shards:
 *
 *   users, ev<N> (event tables), ingest_stage_<n> of events (they become event tables by a
 *   rename), res_<n> (result tables, the inputs of history snapshots and reads).
 *
 * and `ev<N>_ids` (the event_ids of ev<N>, see addEventIdsTable) is distributed by event_id.
 *
 * Everything else stays a plain (local) table on the coordinator: the catalogue, runs,
 * label_state, history, summaries, versions, schedule slots and the collaboration documents
 * are small, written one row at a time and never joined with customer rows. The users staging
 * table of an ingestion stays local too (its commit broadcasts it to the workers).
 *
 * Unique constraints of distributed tables must contain the distribution column, so on Citus
 * `users.user_id` is kept unique by the ingestion (every insertion into users holds the
 * catalogue lock, see extend.ts) rather than by an index, and an event table's event_id key
 * is (uid, event_id), with ev<N>_ids keeping event_ids unique across users as on PostgreSQL.
 *
 * Co-location: `users` and `event_ids_in` start groups of their own (`colocate_with => 'none'`),
 * and every other table names one of them, never the database-wide `default` group. Citus deletes
 * a group when the last table in it is dropped, so a table put in `default` while another schema
 * of the database drops its last table of that group could land in a deleted group, and the next
 * one in a new group, no longer co-located ("cannot push down this subquery"; seen when test
 * schemas came and went beside each other).
 */

/** Makes a freshly created (empty) table a distributed table by uid, co-located with users. */
export async function distributeByUid(db: SqlExecutor, table: string): Promise<void> {
  if (!db.citus) return
  if (!/^(users|ev\d+|res_\d+|ingest_stage_\d+)$/.test(table)) throw new Error(`not a customer table: ${table}`)
  await db.query(`SELECT create_distributed_table($1::regclass, 'uid', colocate_with => $2)`, [
    table,
    table === 'users' ? 'none' : 'users',
  ])
}

/**
 * Citus: the event_ids stored in event table `ev<N>`, in `ev<N>_ids` distributed by event_id,
 * so "is this event_id stored, by any user" is answered on the worker holding that id (an
 * event table's own key can only be (uid, event_id)). Ingestion keeps it (ingest/commit.ts).
 */
export async function addEventIdsTable(tx: SqlExecutor, table: string, o: { key?: boolean } = {}): Promise<void> {
  if (!tx.citus) return
  if (!/^ev\d+$/.test(table)) throw new Error(`not an event table: ${table}`)
  await tx.exec(`CREATE TABLE ${table}_ids (event_id text ${o.key === false ? 'NOT NULL' : 'PRIMARY KEY'})`)
  await tx.query(`SELECT create_distributed_table($1::regclass, 'event_id', colocate_with => 'event_ids_in')`, [
    `${table}_ids`,
  ])
}

/**
 * The key of an `ev<N>_ids` table made with `key: false` and then filled: built once over its rows
 * (a sort) rather than row by row into the btree. A new event's first 300k ids: 2.3 s inserted into
 * the key with ON CONFLICT, 0.75 s inserted plain and keyed after (3-node cluster on 2 cores).
 */
export async function addEventIdsKey(tx: SqlExecutor, table: string): Promise<void> {
  if (!tx.citus) return
  if (!/^ev\d+$/.test(table)) throw new Error(`not an event table: ${table}`)
  await tx.exec(`ALTER TABLE ${table}_ids ADD PRIMARY KEY (event_id)`)
}

/**
 * Citus: the scratch table of event_id checks, distributed by event_id like the ev<N>_ids
 * tables, so an ingestion's ids are moved once to the workers holding them and checked there
 * (ingest/commit.ts). Always empty outside a commit; commits take turns (catalogue lock). Created
 * first (migrate): the ev<N>_ids tables are co-located with it.
 */
export async function addEventIdsScratch(tx: SqlExecutor): Promise<void> {
  if (!tx.citus) return
  const r = await tx.query<{ ok: boolean }>(`SELECT to_regclass('event_ids_in') IS NOT NULL AS ok`)
  if (r.rows[0]?.ok) return
  await tx.exec(`CREATE TABLE event_ids_in (event_id text NOT NULL, seq bigint NOT NULL)`)
  await tx.query(`SELECT create_distributed_table('event_ids_in', 'event_id', colocate_with => 'none')`)
}

/**
 * Inside a transaction that mixes DDL with writes to distributed tables (a run creates, fills
 * and keys a result table; an ingestion renames a stage, adds a key, inserts): one connection
 * per worker, so Citus may run the later DDL over the connections that already saw the writes
 * ("cannot perform DDL … after parallel operations"). The shards of one worker then run one
 * after another; the workers still run in parallel.
 */
export async function oneConnectionPerWorker(tx: SqlExecutor): Promise<void> {
  if (tx.citus) await tx.exec(`SET LOCAL citus.max_adaptive_executor_pool_size = 1`)
}
