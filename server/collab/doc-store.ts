import { createHash } from 'node:crypto'
import type { SqlExecutor } from '../../engine/sql-executor.ts'
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

/** A DocStore over the engine's SqlExecutor (PGlite or PostgreSQL); creates its tables. */
export async function createSqlDocStore(db: SqlExecutor): Promise<DocStore> {
  await db.exec(DDL)
  return {
    async load(workspace) {
      const snap = await db.query<{ snapshot: unknown; upto_seq: number; digest: string }>(
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
        await db.query<{ upto_seq: number; digest: string }>(
          'SELECT upto_seq, digest FROM collab_docs WHERE workspace = $1',
          [workspace],
        )
      ).rows[0]
      // No collab_docs row with a snapshot: stored before that table existed (the next snapshot adds it).
      if (written && !row) throw corrupt('snapshot (its row is missing)', 'collab_snapshots')
      if (written && row && (written.digest !== row.digest || Number(written.upto_seq) !== Number(row.upto_seq)))
        throw corrupt('snapshot (not the one last written)', 'collab_snapshots')
      const upto = row?.upto_seq ?? 0
      const ups = await db.query<{ seq: number; update: unknown; digest: string | null }>(
        'SELECT seq, update, digest FROM collab_updates WHERE workspace = $1 AND seq > $2 ORDER BY seq',
        [workspace, upto],
      )
      const updates = ups.rows.map((r) => {
        const u = bytes(r.update)
        if (r.digest !== null && digest(u) !== r.digest)
          throw corrupt(`update ${r.seq} (digest mismatch)`, 'collab_updates')
        return u
      })
      return { snapshot, updates, lastSeq: ups.rows.at(-1)?.seq ?? upto }
    },
    async append(workspace, update) {
      const r = await db.query<{ seq: number }>(
        "INSERT INTO collab_updates (workspace, update, digest) VALUES ($1, decode($2, 'hex'), $3) RETURNING seq",
        [workspace, param(update), digest(update)],
      )
      return r.rows[0]!.seq
    },
    async compact(workspace, snapshot, uptoSeq) {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO collab_snapshots (workspace, snapshot, upto_seq, digest) VALUES ($1, decode($2, 'hex'), $3, $4)
           ON CONFLICT (workspace) DO UPDATE SET snapshot = EXCLUDED.snapshot, upto_seq = EXCLUDED.upto_seq,
             digest = EXCLUDED.digest, saved_at = now()`,
          [workspace, param(snapshot), uptoSeq, digest(snapshot)],
        )
        await tx.query(
          `INSERT INTO collab_docs (workspace, upto_seq, digest) VALUES ($1, $2, $3)
           ON CONFLICT (workspace) DO UPDATE SET upto_seq = EXCLUDED.upto_seq, digest = EXCLUDED.digest`,
          [workspace, uptoSeq, digest(snapshot)],
        )
        await tx.query('DELETE FROM collab_updates WHERE workspace = $1 AND seq <= $2', [workspace, uptoSeq])
      })
    },
  }
}
