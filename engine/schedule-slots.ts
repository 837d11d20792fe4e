import type { SqlExecutor } from './sql-executor.ts'

/**
 * Scheduler bookkeeping: one row per (label, slot) that has been claimed. The scheduler
 * claims a slot *before* it triggers the run, so the primary key makes "never two runs for
 * the same slot" hold across restarts, crashes and several server processes on one
 * PostgreSQL. A slot claimed whose run then crashed counts as run (it is not retried; the
 * failed run records why).
 */
export const scheduleSlotsDdl = `
CREATE TABLE IF NOT EXISTS schedule_slots (
  label_id text NOT NULL,
  slot timestamptz NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (label_id, slot)
);
`

/** Creates the schedule_slots table if missing; idempotent. */
export async function migrateScheduleSlots(db: SqlExecutor): Promise<void> {
  await db.exec(scheduleSlotsDdl)
}

/**
 * Claims `slotIso` for a label; true when this caller won it. Claims only move forward: a
 * slot at or before one already claimed is refused, so a lagging process can't rerun an
 * older slot after a newer one ran.
 */
export async function claimScheduleSlot(db: SqlExecutor, labelId: string, slotIso: string): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO schedule_slots (label_id, slot)
     SELECT $1::text, $2::timestamptz
     WHERE NOT EXISTS (SELECT 1 FROM schedule_slots WHERE label_id = $1::text AND slot >= $2::timestamptz)
     ON CONFLICT (label_id, slot) DO NOTHING
     RETURNING 1 AS won`,
    [labelId, slotIso],
  )
  return r.rows.length === 1
}

/** The latest slot claimed for a label (ISO string), or null when none ever was. */
export async function lastScheduleSlot(db: SqlExecutor, labelId: string): Promise<string | null> {
  const r = await db.query<{ slot: Date | string | null }>(
    'SELECT max(slot) AS slot FROM schedule_slots WHERE label_id = $1',
    [labelId],
  )
  const slot = r.rows[0]?.slot ?? null
  return slot === null ? null : new Date(slot).toISOString()
}

/** Forgets a label's claimed slots (when the label is deleted). */
export async function deleteScheduleSlots(db: SqlExecutor, labelId: string): Promise<void> {
  await db.query('DELETE FROM schedule_slots WHERE label_id = $1', [labelId])
}
