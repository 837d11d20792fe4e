import { createHash } from 'node:crypto'
import * as Y from 'yjs'
import { withXactLock, type SqlExecutor } from '../../engine/sql-executor.ts'
import { vacuumDue } from '../../engine/storage/vacuum.ts'
import { LabelsError } from '../../shared/errors.ts'

/** What a workspace document was saved as: the last snapshot plus the updates after it. */
export interface StoredDoc {
  snapshot: Uint8Array | null
  updates: Uint8Array[]
  /** Sequence number of the last stored update (0 when none). */
  lastSeq: number
}

/**
 * Persistence of collaborative documents (Hocuspocus "store" hook). Updates are appended one
 * row each (the server stores before it broadcasts) and periodically folded into a snapshot.
 */
export interface DocStore {
  /**
   * Throws LabelsError('internal') when what is stored is damaged: a snapshot or update whose
   * digest doesn't match, or a snapshot row that is missing although one was written. The
   * document isn't served then, and nothing is written over the damaged rows.
   */
  load(workspace: string): Promise<StoredDoc>
  /** Appends one (possibly merged) update; returns its sequence number. */
  append(workspace: string, update: Uint8Array): Promise<number>
  /** Replaces the snapshot and drops the updates it covers (seq ≤ uptoSeq), atomically. */
  compact(workspace: string, snapshot: Uint8Array, uptoSeq: number): Promise<void>
  /**
   * Several processes store updates of one document (server/cluster): folds the stored snapshot and
   * every stored update into a new snapshot, built from what is stored rather than from one process's
   * memory (which may lack another's latest update), and drops exactly the rows it folded in. One
   * compaction at a time per workspace (advisory lock).
   */
  compactStored?(workspace: string): Promise<void>
}

/** Hooks of a DocStore that several processes share. */
export interface SqlDocStoreOptions {
  /**
   * Called inside the transaction that appends an update, with its sequence number: the cluster
   * relay sends it to the other processes from there, so it is sent if and only if it is stored.
   */
  afterAppend?(tx: SqlExecutor, workspace: string, seq: number, update: Uint8Array): Promise<void>
}

const DDL = `
CREATE TABLE IF NOT EXISTS collab_updates (
  workspace text NOT NULL,
  seq bigserial NOT NULL,
  update bytea NOT NULL,
  PRIMARY KEY (workspace, seq)
);
-- sha256 of update (NULL in rows written before it existed: those are checked by decoding only)
ALTER TABLE collab_updates ADD COLUMN IF NOT EXISTS digest text;
CREATE TABLE IF NOT EXISTS collab_snapshots (
  workspace text PRIMARY KEY,
  snapshot bytea NOT NULL,
  upto_seq bigint NOT NULL,
  digest text NOT NULL,          -- sha256 of snapshot: a damaged snapshot fails loudly at load
  saved_at timestamptz NOT NULL DEFAULT now()
);
-- Which snapshot each workspace has, kept in another table (other pages, another file): a lost
-- collab_snapshots row (e.g. a zeroed page reads as an empty one) is noticed instead of
-- starting an empty document. Written with the snapshot, in the same transaction.
CREATE TABLE IF NOT EXISTS collab_docs (
  workspace text PRIMARY KEY,
  upto_seq bigint NOT NULL,
  digest text NOT NULL
);
`

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
// pg hands back Buffer, PGlite Uint8Array; Yjs wants a plain Uint8Array view.
const bytes = (v: unknown) => new Uint8Array(v as Uint8Array)
/**
 * A bytea parameter as hex text, written `decode($n, 'hex')` in SQL. PGlite serializes a binary
 * parameter byte by byte in JavaScript: a 1 MB snapshot took 2.5–5 s of the server's event loop
 * (hex text: ~0.1 s), and a keystroke's update paid it too. PostgreSQL's driver sends bytea as
 * hex text anyway.
 */
const param = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** Stores `snapshot` as the workspace's snapshot covering rows ≤ `upto`, and records which one it is (collab_docs). */
async function writeSnapshot(tx: SqlExecutor, workspace: string, snapshot: Uint8Array, upto: number): Promise<void> {
  await tx.query(
    `INSERT INTO collab_snapshots (workspace, snapshot, upto_seq, digest) VALUES ($1, decode($2, 'hex'), $3, $4)
     ON CONFLICT (workspace) DO UPDATE SET snapshot = EXCLUDED.snapshot, upto_seq = EXCLUDED.upto_seq,
       digest = EXCLUDED.digest, saved_at = now()`,
    [workspace, param(snapshot), upto, digest(snapshot)],
  )
  await tx.query(
    `INSERT INTO collab_docs (workspace, upto_seq, digest) VALUES ($1, $2, $3)
     ON CONFLICT (workspace) DO UPDATE SET upto_seq = EXCLUDED.upto_seq, digest = EXCLUDED.digest`,
    [workspace, upto, digest(snapshot)],
  )
}

/** A DocStore over the engine's SqlExecutor (PGlite or PostgreSQL); creates its tables. */
export async function createSqlDocStore(db: SqlExecutor, opts: SqlDocStoreOptions = {}): Promise<DocStore> {
  if (db.kind === 'postgres')
    // Several processes may start at once on one database: CREATE … IF NOT EXISTS races without this.
    await withXactLock(db, 'labels-collab-ddl', (tx) => tx.exec(DDL))
  else await db.exec(DDL)
  const corruptRow = (workspace: string, what: string, table: string) =>
    new LabelsError(
      'internal',
      `stored ${what} of workspace "${workspace}" is corrupt; refusing to serve it`,
      `/${table}`,
    )
  return {
    load(workspace) {
      // One snapshot of the database for all reads: on PostgreSQL another process may fold rows into a
      // new snapshot between them (DocStore.compactStored), which separate reads could both miss.
      const read = async (tx: SqlExecutor): Promise<StoredDoc> => {
        const snap = await tx.query<{ snapshot: unknown; upto_seq: number; digest: string }>(
          'SELECT snapshot, upto_seq, digest FROM collab_snapshots WHERE workspace = $1',
          [workspace],
        )
        const row = snap.rows[0]
        const snapshot = row ? bytes(row.snapshot) : null
        const corrupt = (what: string, table: string) =>
          new LabelsError(
            'internal',
            `stored ${what} of workspace "${workspace}" is corrupt; refusing to serve it`,
            `/${table}`,
          )
        if (row && snapshot && digest(snapshot) !== row.digest)
          throw corrupt('snapshot (digest mismatch)', 'collab_snapshots')
        const written = (
          await tx.query<{ upto_seq: number; digest: string }>(
            'SELECT upto_seq, digest FROM collab_docs WHERE workspace = $1',
            [workspace],
          )
        ).rows[0]
        // No collab_docs row with a snapshot: stored before that table existed (the next snapshot adds it).
        if (written && !row) throw corrupt('snapshot (its row is missing)', 'collab_snapshots')
        if (written && row && (written.digest !== row.digest || Number(written.upto_seq) !== Number(row.upto_seq)))
          throw corrupt('snapshot (not the one last written)', 'collab_snapshots')
        const upto = row?.upto_seq ?? 0
        // Every row left: a single process deletes all rows ≤ upto_seq with its snapshot, but a
        // compaction shared by processes (compactStored) keeps a row it did not see committed yet,
        // whatever its number. A row depends only on rows numbered before it, so seq order integrates.
        const ups = await tx.query<{ seq: number; update: unknown; digest: string | null }>(
          'SELECT seq, update, digest FROM collab_updates WHERE workspace = $1 ORDER BY seq',
          [workspace],
        )
        const updates = ups.rows.map((r) => {
          const u = bytes(r.update)
          if (r.digest !== null && digest(u) !== r.digest)
            throw corrupt(`update ${r.seq} (digest mismatch)`, 'collab_updates')
          return u
        })
        return { snapshot, updates, lastSeq: Math.max(Number(upto), Number(ups.rows.at(-1)?.seq ?? 0)) }
      }
      if (db.kind !== 'postgres') return read(db)
      return db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
        return read(tx)
      })
    },
    async append(workspace, update) {
      const insert = async (x: SqlExecutor) =>
        (
          await x.query<{ seq: number }>(
            "INSERT INTO collab_updates (workspace, update, digest) VALUES ($1, decode($2, 'hex'), $3) RETURNING seq",
            [workspace, param(update), digest(update)],
          )
        ).rows[0]!.seq
      const after = opts.afterAppend
      if (!after) return insert(db)
      return db.transaction(async (tx) => {
        const seq = await insert(tx)
        await after(tx, workspace, Number(seq), update)
        return seq
      })
    },
    async compactStored(workspace) {
      await withXactLock(db, `labels-collab-compact:${workspace}`, async (tx) => {
        const ups = await tx.query<{ seq: number; update: unknown; digest: string | null }>(
          'SELECT seq, update, digest FROM collab_updates WHERE workspace = $1 ORDER BY seq',
          [workspace],
        )
        if (ups.rows.length === 0) return
        const snap = await tx.query<{ snapshot: unknown; upto_seq: number; digest: string }>(
          'SELECT snapshot, upto_seq, digest FROM collab_snapshots WHERE workspace = $1',
          [workspace],
        )
        const prev = snap.rows[0]
        const doc = new Y.Doc()
        try {
          if (prev) {
            const s = bytes(prev.snapshot)
            if (digest(s) !== prev.digest) throw corruptRow(workspace, 'snapshot (digest mismatch)', 'collab_snapshots')
            Y.applyUpdate(doc, s)
          }
          for (const r of ups.rows) {
            const u = bytes(r.update)
            if (r.digest !== null && digest(u) !== r.digest)
              throw corruptRow(workspace, `update ${r.seq} (digest mismatch)`, 'collab_updates')
            Y.applyUpdate(doc, u)
          }
          const snapshot = Y.encodeStateAsUpdate(doc)
          // Rows come in seq order (no spread: a backlog of ~150k rows would overflow the stack).
          const upto = Math.max(Number(prev?.upto_seq ?? 0), Number(ups.rows.at(-1)!.seq))
          await writeSnapshot(tx, workspace, snapshot, upto)
          await tx.query('DELETE FROM collab_updates WHERE workspace = $1 AND seq = ANY($2::bigint[])', [
            workspace,
            ups.rows.map((r) => r.seq),
          ])
        } finally {
          doc.destroy()
        }
      })
    },
    async compact(workspace, snapshot, uptoSeq) {
      await db.transaction(async (tx) => {
        await writeSnapshot(tx, workspace, snapshot, uptoSeq)
        await tx.query('DELETE FROM collab_updates WHERE workspace = $1 AND seq <= $2', [workspace, uptoSeq])
      })
      // PGlite has no autovacuum: without this every snapshot replaced stays on disk (storage/vacuum.ts).
      // The snapshot is stored whatever happens here.
      await vacuumDue(db).catch((e: unknown) =>
        console.warn(`collab store: vacuum after the snapshot of "${workspace}" failed:`, e),
      )
    },
  }
}
