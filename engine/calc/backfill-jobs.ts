import type { Backfill, BackfillStatus } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { conflict, notFound } from '../../shared/errors.ts'
import { iso, isoOrNull } from './runs.ts'

/**
 * Backfill jobs (server/runs/backfill.ts) in the database, beside runs: readable from any
 * process and after a restart. `node_id` is the process that executes the job (it claimed it:
 * created it, resumed it at start-up, or took it over from a dead process on a cluster).
 * `done` counts the days written, the newest first; it moves in the same transaction as the
 * day's history (backfillStep), so a day is never written twice nor counted without being written.
 * At most one queued or running job per label (a partial unique index: two processes can't both start one).
 */
export const backfillDdl = `
CREATE TABLE IF NOT EXISTS backfills (
  id text PRIMARY KEY,
  label_id text NOT NULL,
  days int NOT NULL,
  date_from date NOT NULL,
  date_to date NOT NULL,
  done int NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','cancelled')),
  error text,
  node_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS backfills_label_created ON backfills (label_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX IF NOT EXISTS backfills_one_open ON backfills (label_id) WHERE status IN ('queued','running');
`

interface BackfillRow {
  id: string
  label_id: string
  days: number
  date_from: Date | string
  date_to: Date | string
  done: number
  status: BackfillStatus
  error: string | null
  created_at: Date | string
  started_at: Date | string | null
  finished_at: Date | string | null
}

const columns = `id, label_id, days, date_from::text AS date_from, date_to::text AS date_to, done, status, error,
  created_at, started_at, finished_at`

const day = (v: Date | string): string => (v instanceof Date ? v.toISOString() : v).slice(0, 10)

function toBackfill(r: BackfillRow): Backfill {
  return {
    id: r.id,
    labelId: r.label_id,
    days: r.days,
    from: day(r.date_from),
    to: day(r.date_to),
    done: r.done,
    status: r.status,
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    ...(r.error !== null ? { error: r.error } : {}),
  }
}

/** Records a queued job; 409 while the label has one queued or running (on any process). */
export async function insertBackfill(
  db: SqlExecutor,
  input: { id: string; labelId: string; labelName: string; days: number; from: string; to: string; nodeId: string },
): Promise<Backfill> {
  try {
    const r = await db.query<BackfillRow>(
      `INSERT INTO backfills (id, label_id, days, date_from, date_to, status, node_id, created_at)
       VALUES ($1, $2, $3, $4::date, $5::date, 'queued', $6, clock_timestamp()) RETURNING ${columns}`,
      [input.id, input.labelId, input.days, input.from, input.to, input.nodeId],
    )
    return toBackfill(r.rows[0] as BackfillRow)
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e
    const open = await db.query<{ id: string; status: string }>(
      `SELECT id, status FROM backfills WHERE label_id = $1 AND status IN ('queued','running')`,
      [input.labelId],
    )
    const o = open.rows[0]
    throw conflict(`a backfill of label "${input.labelName}" is already ${o?.status ?? 'queued'} (${o?.id ?? '?'})`)
  }
}

export async function getBackfill(db: SqlExecutor, id: string): Promise<Backfill | null> {
  const r = await db.query<BackfillRow>(`SELECT ${columns} FROM backfills WHERE id = $1`, [id])
  return r.rows[0] ? toBackfill(r.rows[0]) : null
}

/** A label's jobs, newest first. */
export async function listBackfills(db: SqlExecutor, labelId: string, limit = 20): Promise<Backfill[]> {
  const n = Math.max(1, Math.min(1000, Math.floor(limit)))
  const r = await db.query<BackfillRow>(
    `SELECT ${columns} FROM backfills WHERE label_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [labelId, n],
  )
  return r.rows.map(toBackfill)
}

/**
 * Moves a job that is still queued or running on: to running (its first start keeps its
 * started_at) or to its end. Null when it already ended (cancelled meanwhile) or is gone.
 */
export async function updateBackfill(
  db: SqlExecutor,
  id: string,
  to: { status: 'running' } | { status: 'succeeded' } | { status: 'failed'; error: string },
): Promise<Backfill | null> {
  const r =
    to.status === 'running'
      ? await db.query<BackfillRow>(
          `UPDATE backfills SET status = 'running', started_at = COALESCE(started_at, clock_timestamp())
           WHERE id = $1 AND status IN ('queued','running') RETURNING ${columns}`,
          [id],
        )
      : await db.query<BackfillRow>(
          `UPDATE backfills SET status = $2, finished_at = clock_timestamp(), error = $3
           WHERE id = $1 AND status IN ('queued','running') RETURNING ${columns}`,
          [id, to.status, to.status === 'failed' ? to.error.slice(0, 2000) : null],
        )
  return r.rows[0] ? toBackfill(r.rows[0]) : null
}

/** Cancels a queued or running job: the day being written is rolled back, no more start. 404 unknown, 409 ended. */
export async function cancelBackfill(db: SqlExecutor, id: string): Promise<Backfill> {
  const r = await db.query<BackfillRow>(
    `UPDATE backfills SET status = 'cancelled', finished_at = clock_timestamp(), error = NULL
     WHERE id = $1 AND status IN ('queued','running') RETURNING ${columns}`,
    [id],
  )
  if (r.rows[0]) return toBackfill(r.rows[0])
  const b = await getBackfill(db, id)
  if (!b) throw notFound(`no backfill "${id}"`, '/params/backfillId')
  throw conflict(`backfill ${id} already ${b.status}; only a queued or running one can be cancelled`)
}

/**
 * Start-up of a single process on its database: every job left queued or running (the process
 * stopped or crashed) becomes this process's, to resume from its next undone day.
 */
export async function claimOpenBackfills(db: SqlExecutor, nodeId: string): Promise<Backfill[]> {
  const r = await db.query<BackfillRow>(
    `UPDATE backfills SET node_id = $1 WHERE status IN ('queued','running') RETURNING ${columns}`,
    [nodeId],
  )
  return r.rows.map(toBackfill).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
}

/**
 * In a day's transaction: counts day number `step` (0-based) of the job as done. Fails (and so
 * rolls the day back) unless the job is running with exactly `step` days done: it was cancelled,
 * or another process took it over and went on.
 */
export async function backfillStep(tx: SqlExecutor, id: string, step: number): Promise<void> {
  const r = await tx.query<{ id: string }>(
    `UPDATE backfills SET done = done + 1 WHERE id = $1 AND status = 'running' AND done = $2 RETURNING id`,
    [id, step],
  )
  if (!r.rows[0]) {
    const b = await getBackfill(tx, id)
    throw conflict(
      b?.status === 'cancelled'
        ? `backfill ${id} was cancelled`
        : `backfill ${id} is not running with ${step} days done here (${b ? `${b.status}, ${b.done} done` : 'gone'})`,
    )
  }
}
