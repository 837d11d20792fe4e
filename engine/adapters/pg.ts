import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFromStdin } from 'pg-copy-streams'
import type { SqlExecutor } from '../sql-executor.ts'
import { makeNested } from './savepoint.ts'
import { parseTimestamptz } from './timestamptz.ts'

// Same value shapes as the PGlite adapter: int8/numeric as numbers.
pg.types.setTypeParser(20, (v) => Number(v))
pg.types.setTypeParser(1700, (v) => Number(v))
pg.types.setTypeParser(1184, parseTimestamptz)

type Client = pg.Pool | pg.PoolClient

/**
 * `COPY … FROM '/dev/blob'` (the SqlExecutor form, PGlite's virtual file) as `COPY … FROM STDIN`,
 * `data` streamed on one connection (pg-copy-streams). A failed COPY leaves its connection in
 * the COPY protocol's error state, so a pooled one is destroyed rather than returned.
 */
async function copyOn(c: pg.PoolClient, sql: string, data: Uint8Array): Promise<number> {
  const stdin = sql.replace(/FROM\s+'\/dev\/blob'/i, 'FROM STDIN')
  if (stdin === sql) throw new Error(`copyFrom expects COPY … FROM '/dev/blob', got: ${sql.slice(0, 80)}`)
  const stream = c.query(copyFromStdin(stdin))
  await pipeline(Readable.from([Buffer.from(data.buffer, data.byteOffset, data.byteLength)]), stream)
  return stream.rowCount
}

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
    async copyFrom(sql: string, data: Uint8Array) {
      if (!pool) return copyOn(client as pg.PoolClient, sql, data)
      const c = await pool.connect()
      try {
        const n = await copyOn(c, sql, data)
        c.release()
        return n
      } catch (e) {
        c.release(e as Error)
        throw e
      }
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
 * The engine's settings for its own PostgreSQL connections (LABELS_PG_SETTINGS' default), as
 * `name=value` pairs separated by commas. `jit=off`: measured with `npm run bench -- pg-settings`
 * (README, Benchmarks): at 1M customers the statements every run sends besides its label's (counting
 * the customers, the summary and history over the result table) pass the server's JIT cost
 * thresholds and were compiled for more than it saved; the label statements took the same time.
 */
export const ENGINE_PG_SETTINGS = 'jit=off'

/** A setting's name (an identifier; a dot for extensions' settings, `citus.x`) and value (no spaces or quotes). */
const settingName = /^[a-z_][a-z0-9_.]*$/i
const settingValue = /^[\w.+-]+$/

/**
 * Parses `name=value,name=value` (LABELS_PG_SETTINGS; `server`, or nothing, keeps the server's own
 * settings): names are identifiers (a dot allowed: `citus.x`), values have no spaces or quotes.
 * `what` names the input in the error.
 */
export function parsePgSettings(text: string, what = 'LABELS_PG_SETTINGS'): Record<string, string> {
  const out: Record<string, string> = {}
  const t = text.trim()
  if (t === '' || t === 'server') return out
  for (const part of t.split(',')) {
    const eq = part.indexOf('=')
    const [name, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()]
    if (eq < 0 || !settingName.test(name) || !settingValue.test(value))
      throw new Error(
        `${what}: "${part.trim()}" is not name=value (e.g. jit=off,work_mem=64MB; "server" keeps the server's settings)`,
      )
    out[name.toLowerCase()] = value
  }
  return out
}

/**
 * Connects to PostgreSQL; `schema` (optional) becomes the search_path of every connection,
 * `statementTimeoutMs` (optional) their default statement_timeout. A database with the citus
 * extension is a Citus coordinator: the executor says so (`citus`), and the engine distributes
 * its customer tables there.
 */
export async function openPostgres(
  url: string,
  opts: {
    schema?: string
    max?: number
    statementTimeoutMs?: number
    /** Further settings of every connection (`-c name=value`), e.g. `{ jit: 'off' }`. */
    settings?: Readonly<Record<string, string>>
  } = {},
): Promise<SqlExecutor> {
  const settings = Object.entries(opts.settings ?? {})
  for (const [k, v] of settings)
    if (!settingName.test(k) || !settingValue.test(v))
      throw new Error(`not a connection setting: ${k}=${v} (names are identifiers, values have no spaces or quotes)`)
  const options = [
    ...(opts.schema ? [`-c search_path=${opts.schema}`] : []),
    ...(opts.statementTimeoutMs !== undefined
      ? [`-c statement_timeout=${Math.max(1, Math.ceil(opts.statementTimeoutMs))}`]
      : []),
    ...settings.map(([k, v]) => `-c ${k}=${v}`),
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
