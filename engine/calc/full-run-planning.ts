import type { SqlExecutor } from '../sql-executor.ts'

/**
 * A run over every customer is planned as if only shared_buffers cached the event tables.
 *
 * PostgreSQL's `effective_cache_size` (4GB by default) tells the planner how much of a table an
 * index scan finds cached. At 10M events a table of a few hundred MB looked cached, so a label
 * reading a large window over an event table in time order (daily exports appended) was planned
 * as a walk of the index by uid, for its order, with one heap fetch per row all over the table,
 * through 128MB of shared buffers: a custom label's statement took 17.6–18.8 s, against 7.2–7.3 s
 * with `effective_cache_size=128MB` (README "Benchmarks", "Event tables in time order, and what
 * the planner counts"). Set for the whole session it slowed the restricted statements of
 * incremental runs, which do read a few customers' rows by that index (1M events, day 2: 16.15 →
 * 20.10 s), so it is set for a full run's statement only: at most the server's shared_buffers
 * (a setting already lower, e.g. from LABELS_PG_SETTINGS, is kept), back to the session's value
 * right after. PostgreSQL only: PGlite's tables live in memory, and Citus plans each shard apart.
 */
export async function plannedAsFullRun<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T> {
  if (tx.kind !== 'postgres' || tx.citus) return fn()
  const r = await tx.query<{ v: string }>(
    `SELECT current_setting('effective_cache_size') AS v,
            set_config('effective_cache_size', least(
              (SELECT setting::bigint FROM pg_settings WHERE name = 'effective_cache_size'),
              (SELECT setting::bigint FROM pg_settings WHERE name = 'shared_buffers'))::text, true)`,
  )
  const out = await fn()
  await tx.query(`SELECT set_config('effective_cache_size', $1, true)`, [r.rows[0]?.v])
  return out
}
