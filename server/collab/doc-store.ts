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
  /** Throws LabelsError('internal') when the stored snapshot is corrupt: the document isn't served. */
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
CREATE TABLE IF NOT EXISTS collab_snapshots (
  workspace text PRIMARY KEY,
  snapshot bytea NOT NULL,
  upto_seq bigint NOT NULL,
  digest text NOT NULL,          -- sha256 of snapshot: a damaged snapshot fails loudly at load
  saved_at timestamptz NOT NULL DEFAULT now()
);
`

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
// pg hands back Buffer, PGlite Uint8Array; Yjs wants a plain Uint8Array view.
const bytes = (v: unknown) => new Uint8Array(v as Uint8Array)
const param = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)

/** A DocStore over the engine's SqlExecutor (PGlite or PostgreSQL); creates its tables. */
export async function createSqlDocStore(db: SqlExecutor): Promise<DocStore> {
  await db.exec(DDL)
  return {
    async load(workspace) {
      const snap = await db.query<{ snapshot: unknown; upto_seq: number; digest: string }>(
        'SELECT snapshot, upto_seq, digest FROM collab_snapshots WHERE workspace = $1', [workspace])
      const row = snap.rows[0]
      const snapshot = row ? bytes(row.snapshot) : null
      if (row && snapshot && digest(snapshot) !== row.digest) {
        throw new LabelsError('internal', `stored snapshot of workspace "${workspace}" is corrupt (digest mismatch); refusing to serve it`, '/collab_snapshots')
      }
      const upto = row?.upto_seq ?? 0
      const ups = await db.query<{ seq: number; update: unknown }>(
        'SELECT seq, update FROM collab_updates WHERE workspace = $1 AND seq > $2 ORDER BY seq', [workspace, upto])
      return { snapshot, updates: ups.rows.map((r) => bytes(r.update)), lastSeq: ups.rows.at(-1)?.seq ?? upto }
    },
    async append(workspace, update) {
      const r = await db.query<{ seq: number }>('INSERT INTO collab_updates (workspace, update) VALUES ($1, $2) RETURNING seq', [workspace, param(update)])
      return r.rows[0]!.seq
    },
    async compact(workspace, snapshot, uptoSeq) {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO collab_snapshots (workspace, snapshot, upto_seq, digest) VALUES ($1, $2, $3, $4)
           ON CONFLICT (workspace) DO UPDATE SET snapshot = EXCLUDED.snapshot, upto_seq = EXCLUDED.upto_seq,
             digest = EXCLUDED.digest, saved_at = now()`,
          [workspace, param(snapshot), uptoSeq, digest(snapshot)])
        await tx.query('DELETE FROM collab_updates WHERE workspace = $1 AND seq <= $2', [workspace, uptoSeq])
      })
    },
  }
}
