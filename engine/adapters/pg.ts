import pg from 'pg'
import type { SqlExecutor } from '../sql-executor.ts'
import { makeNested } from './savepoint.ts'

// Same value shapes as the PGlite adapter: int8/numeric as numbers.
pg.types.setTypeParser(20, (v) => Number(v))
pg.types.setTypeParser(1700, (v) => Number(v))

type Client = pg.Pool | pg.PoolClient

function wrap(client: Client, pool: pg.Pool | null, citus: boolean, depth = 0): SqlExecutor {
  const self: SqlExecutor = {
    kind: 'postgres',
    ...(citus ? { citus: true } : {}),
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await client.query(sql, params as unknown[])
      return { rows: r.rows as T[], affectedRows: r.rowCount ?? undefined }
    },
    async exec(sql: string) {
      await client.query(sql)
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      if (nested) return nested(fn) // already inside a transaction: a savepoint
      const c = await (pool as pg.Pool).connect()
      try {
        await c.query('BEGIN')
        const out = await fn(wrap(c, null, citus, 1))
        await c.query('COMMIT')
        return out
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        c.release()
      }
    },
    async close() {
      if (pool) await pool.end()
    },
  }
  const nested = pool ? null : makeNested(self, depth, () => wrap(client, null, citus, depth + 1))
  return self
}

/**
 * Connects to PostgreSQL; `schema` (optional) becomes the search_path of every connection,
 * `statementTimeoutMs` (optional) their default statement_timeout. A database with the citus
 * extension is a Citus coordinator: the executor says so (`citus`), and the engine distributes
 * its customer tables there.
 */
export async function openPostgres(
  url: string,
  opts: { schema?: string; max?: number; statementTimeoutMs?: number } = {},
): Promise<SqlExecutor> {
  const options = [
    ...(opts.schema ? [`-c search_path=${opts.schema}`] : []),
    ...(opts.statementTimeoutMs !== undefined
      ? [`-c statement_timeout=${Math.max(1, Math.ceil(opts.statementTimeoutMs))}`]
      : []),
  ].join(' ')
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 8,
    ...(options ? { options } : {}),
  })
  const r = await pool.query<{ citus: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') AS citus`,
  )
  return wrap(pool, pool, r.rows[0]?.citus === true)
}
