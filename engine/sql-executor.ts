/** The one database interface the engine talks to; PGlite and pg adapters implement it. */
export interface SqlExecutor {
  readonly kind: 'pglite' | 'postgres'
  /**
   * True on a Citus coordinator (the citus extension is installed in the database): customer
   * tables are then distributed by uid (engine/storage/citus.ts) and a few statements take
   * Citus-compatible shapes. Absent elsewhere.
   */
  readonly citus?: boolean
  /** Runs one parameterised statement. Values only ever travel as parameters. */
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<{ rows: T[]; affectedRows?: number }>
  /** Runs a script of several statements without parameters (DDL). */
  exec(sql: string): Promise<void>
  /**
   * Optional: runs `COPY … FROM '/dev/blob'` with `data` as the file, returning the rows copied
   * (PGlite reads it as its virtual file; the pg adapter sends it as `COPY … FROM STDIN`). Bulk
   * ingestion uses it for binary COPY and falls back to unnest where it is absent.
   */
  copyFrom?(sql: string, data: Uint8Array): Promise<number>
  /**
   * Runs fn inside one transaction on one connection; throws roll back. Called on a transaction
   * executor it nests under a savepoint: a throw rolls back only fn's work and rethrows.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/**
 * Takes, until the transaction ends, the advisory lock named `key` in this schema (advisory
 * locks are per database: workspaces in other schemas of the same database never wait for it).
 */
export async function xactLock(tx: SqlExecutor, key: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(${lockKey})`, [key])
}

/** The advisory lock id of the name `$1` in this schema (xactLock). */
export const lockKey = `hashtextextended(current_schema() || ':' || $1, 0)`

/**
 * Runs fn in one transaction that holds the advisory lock named `key` (xactLock): how processes
 * sharing one database serialise start-up DDL and other once-only work.
 */
export function withXactLock<T>(db: SqlExecutor, key: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await xactLock(tx, key)
    return fn(tx)
  })
}
