import { PGlite, types, type Transaction } from '@electric-sql/pglite'
import type { SqlExecutor } from '../sql-executor.ts'
import { makeNested } from './savepoint.ts'
import { parseTimestamptz } from './timestamptz.ts'
import { keepLeadingBomInPglite } from './pglite-bom.ts'

// Timestamps come back as Date, numerics and bigints as JS numbers, like the pg adapter.
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => Number(v),
  [types.TIMESTAMPTZ]: parseTimestamptz,
}

type Queryable = Pick<PGlite, 'query' | 'exec'> | Transaction

/**
 * The COPY data PGlite reads as `/dev/blob`, handed over without a copy. PGlite only calls
 * `arrayBuffer()` on the blob it is given (`_handleBlob`). A `new Blob([data])` copied every
 * ingestion batch into native memory that V8 doesn't count, so a worker whose JS heap stays quiet
 * (the engine's, while PGlite stages rows) was not collected for a long time: a 1 GiB NDJSON body
 * left ~600 MB of dead blobs in the process before the 413 (tests/engine/ingest/copy-blob.test.ts).
 */
export class BytesBlob extends Blob {
  readonly #bytes: ArrayBuffer
  constructor(data: Uint8Array) {
    super([])
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    this.#bytes = (whole ? data.buffer : data.slice().buffer) as ArrayBuffer
  }
  override get size(): number {
    return this.#bytes.byteLength
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes)
  }
}

function wrap(db: Queryable, root: PGlite | null, depth = 0): SqlExecutor {
  const self: SqlExecutor = {
    kind: 'pglite',
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const r = await db.query<T>(sql, params as unknown[])
      return { rows: r.rows, affectedRows: r.affectedRows }
    },
    async exec(sql: string) {
      await db.exec(sql)
    },
    async copyFrom(sql: string, data: Uint8Array) {
      const r = await db.query(sql, [], { blob: new BytesBlob(data) })
      return r.affectedRows ?? 0
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      if (nested) return nested(fn) // already inside a transaction: a savepoint
      return (root as PGlite).transaction((tx) => fn(wrap(tx, null, 1)))
    },
    async close() {
      if (root) await root.close()
    },
  }
  const nested = root ? null : makeNested(self, depth, () => wrap(db, null, depth + 1))
  return self
}

/** Server settings for a small PGlite (e.g. the workspace-document store): ~130 MB less RSS. */
export const smallPgliteConf = ['shared_buffers=16MB', 'wal_buffers=1MB']

/**
 * Settings of every PGlite. wal_level=minimal skips WAL for a table created and filled in one
 * transaction; embedded PGlite has no replicas or archive that would need that WAL, and commit
 * still writes such tables out. work_mem=128MB: PGlite runs one statement at a time, so a
 * calculation may take the memory a shared server can't give each of its connections; with
 * the default 4MB the per-(user, value) hash of a preference over 5.5M events spilled 160 MB to
 * disk and its sort another 87 MB (6.2 s; 4.4 s in memory, and 256MB was no faster). On
 * PostgreSQL the default stays: there, more work_mem made the same query slower (2.6 → 3.4 s,
 * a different parallel plan).
 */
const baseConf = ['wal_level=minimal', 'max_wal_senders=0', 'work_mem=128MB']

/** An opened PGlite: a SqlExecutor that can also write its whole data directory out. */
export interface PgliteExecutor extends SqlExecutor {
  /** The data directory as a gzipped tarball (PGlite `dumpDataDir`), for `openPglite`'s `loadDataDir`. */
  dumpDataDir(): Promise<Blob>
}

/**
 * Opens embedded PGlite; dataDir undefined means in-memory; `conf` lines go to postgresql.conf
 * (after the base settings); `loadDataDir` starts it from a tarball `dumpDataDir` wrote (no
 * initdb) instead of a new database.
 */
export async function openPglite(
  dataDir?: string,
  opts: { conf?: string[]; loadDataDir?: Blob } = {},
): Promise<PgliteExecutor> {
  keepLeadingBomInPglite()
  const db = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
    parsers,
    postgresqlconf: [...baseConf, ...(opts.conf ?? [])],
  })
  return { ...wrap(db, db), dumpDataDir: () => db.dumpDataDir('gzip') }
}
