import type { SqlExecutor } from '../sql-executor.ts'

/**
 * How many customers an event table's rows belong to, told to the planner exactly.
 *
 * ANALYZE estimates a column's distinct values from a sample, and for an event table's `uid` it
 * falls far short: at 10M events (1M customers) the view table's 848,365 customers were estimated
 * at 59,664 from ingestion's sample of 6,000 rows (statistics target 20), 257,795 from 30,000 (the
 * default 100) and 461,000 from 300,000 (1000, 4.5 s), whether the table lists events customer by
 * customer or by time (a copy in time order: 191,738 at 20). A label's statement groups such a
 * table by customer, so the planner sized its hash aggregates and joins for a twelfth of the rows
 * they got (hash joins grew from 1 batch to 8 while running) and picked plans for that: a custom
 * label of 7 scopes took 10.3 s; with the table's real count, 3.7 s (README "Benchmarks", "Event
 * tables in time order, and what the planner counts"). Restricted statements had relied on the
 * underestimate, and are joined so they can't (compiler/emitter.ts usersKey; README, "Restricted
 * statements and the planner's estimates").
 *
 * So after a load that refreshes a table's statistics (ingest/store.ts, after its ANALYZE), the
 * table's distinct uids are counted (one pass, grouped by uid) and set as the column's
 * `n_distinct`, as a share of its rows (negative: the planner scales it with the table as later
 * days append), the rows counted kept in `meta` (`uid_share:<table>`), and the column analysed again
 * so the planner has it at once (that column only: the other columns' statistics are the caller's
 * ANALYZE's, a moment old). A daily load into a large table keeps the share counted before:
 * it is counted again once the table has RECOUNT_SHARE more rows than were counted, so a share
 * drifts by at most that as days go by.
 *
 * Whatever the order of the rows: where a table lists each customer's events together (files
 * listed customer by customer) the plans this gives read it in that order; in time order (daily
 * exports appended) the share made no difference to a custom label's statement at 10M events
 * (17.1–19.6 s with it, 17.6–18.8 s without), whose time there went to reading the large scopes
 * by the index by uid (README, as above); a full run is now planned against that
 * (calc/full-run-planning.ts). Not on Citus, whose planner plans each shard apart (and
 * whose ALTER TABLE doesn't take attribute options).
 */
export const RECOUNT_SHARE = 0.1

/** The share `-uids/rows` for n_distinct; null for an empty table. */
export function distinctShare(uids: number, rows: number): number | null {
  if (!(rows > 0) || !(uids > 0)) return null
  // n_distinct takes -1 ≤ share < 0 as a fraction of the rows; -1 means "unique".
  return -Math.min(1, uids / rows)
}

/**
 * Tells the planner event table `table`'s customers (above), right after the caller's ANALYZE of
 * it in the caller's transaction. Returns what it did: `counted` (the share set, and its uid
 * column analysed again), `kept` (a share counted over nearly as many rows), `empty`, or `citus`.
 */
export async function tellUidShare(tx: SqlExecutor, table: string): Promise<'counted' | 'kept' | 'empty' | 'citus'> {
  if (!/^ev[0-9]+$/.test(table)) throw new Error(`unexpected event table ${table}`)
  if (tx.citus) return 'citus'
  const key = `uid_share:${table}`
  const had = await tx.query<{ reltuples: number; opts: string[] | null; counted: { rows?: number } | null }>(
    `SELECT c.reltuples::float8 AS reltuples, a.attoptions AS opts, (SELECT value FROM meta WHERE key = $2) AS counted
       FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'uid'
      WHERE c.oid = $1::regclass`,
    [table, key],
  )
  const before = had.rows[0]
  const hasShare = (before?.opts ?? []).some((o) => o.startsWith('n_distinct='))
  const countedRows = Number(before?.counted?.rows ?? 0)
  // The ANALYZE just run counted the table's rows (reltuples, an estimate from its sample).
  if (hasShare && countedRows > 0 && Number(before?.reltuples ?? 0) < (1 + RECOUNT_SHARE) * countedRows) return 'kept'
  // One pass: each customer's rows, then the customers and the rows.
  const r = await tx.query<{ uids: number; rows: number }>(
    `SELECT count(*)::float8 AS uids, coalesce(sum(n), 0)::float8 AS rows FROM (SELECT count(*) AS n FROM ${table} GROUP BY uid) g`,
  )
  const uids = Number(r.rows[0]?.uids ?? 0)
  const rows = Number(r.rows[0]?.rows ?? 0)
  const share = distinctShare(uids, rows)
  if (share === null) return 'empty'
  // A literal: ALTER TABLE takes no parameters. `share` is a number computed here.
  await tx.exec(`ALTER TABLE ${table} ALTER COLUMN uid SET (n_distinct = ${share.toFixed(6)})`)
  await tx.query(
    `INSERT INTO meta (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [key, JSON.stringify({ rows, uids })],
  )
  await tx.exec(`ANALYZE ${table} (uid)`)
  return 'counted'
}
