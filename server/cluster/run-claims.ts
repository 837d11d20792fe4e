import { openPostgres } from '../../engine/adapters/pg.ts'
import { withXactLock, type SqlExecutor } from '../../engine/sql-executor.ts'
import type { Run, RunTrigger } from '../../engine/api.ts'
import type { ClusterBus } from './bus.ts'

/** A run another node left queued or running, now this node's to execute or to replace. */
export interface TakenRun {
  id: string
  labelId: string
  /** What it was when taken. */
  was: 'queued' | 'running'
  /**
   * Failed 'interrupted: …' (its transaction died with its process, so nothing of it was
   * committed): a run that was running, and an import's run whatever it was (its values died with
   * its process). The others stay queued, to execute under their own id.
   */
  failed: boolean
  /** A failed calculation's trigger and asOf: the caller queues a new run of the label with them. */
  again?: { trigger: RunTrigger; asOf: string }
}

/** The error of a calculation whose process stopped while it ran; a new run takes its place. */
export const INTERRUPTED_RUN_ERROR =
  'interrupted: its server process stopped during the run; nothing of it was stored, and a new run of the label was queued in its place'

/**
 * Which process executes each run, in the database (issue 11).
 *
 * - The node that creates a run records itself as its owner (`cluster_runs`) and executes it.
 *   The engine's start of a run is already a claim (`UPDATE runs SET status='running' WHERE
 *   status='queued'`), so a run is executed by one process only, whoever asks.
 * - Runs of one label never execute at once on two processes: the executor holds a transaction
 *   advisory lock on the label (`serialize`) for the whole run, on a pool of its own. Under it, the
 *   executor first executes the label's older runs still queued (`queuedThrough`), whoever created
 *   them: runs of one label execute in creation order, whichever process takes the lock first.
 * - `takeOver()` (every node, every lease/2): runs queued or running whose owner is dead
 *   (ClusterBus.deadNodes: its listening connection is gone from pg_stat_activity, or no
 *   heartbeat for a lease), whose owner row is gone, or that have no owner a lease after
 *   creation (the process died between creating and recording), are locked
 *   `FOR UPDATE SKIP LOCKED` (two sweepers never take the same run) and recorded as this node's.
 *   A queued one is executed by the new owner under its own id. A running one was interrupted: its
 *   transaction died with its process, so nothing of it was committed; it is failed with its error
 *   recorded (docs/semantics.md#runs: a failed or interrupted run records its `error`, as on
 *   PGlite) and the caller queues a new run of the label with its trigger and asOf. No run is
 *   left running.
 */
export class RunClaims {
  private constructor(
    private readonly bus: ClusterBus,
    private readonly locks: SqlExecutor,
  ) {}

  /** `concurrency`: runs this node executes at once (one lock connection each). */
  static async open(bus: ClusterBus, concurrency: number): Promise<RunClaims> {
    return new RunClaims(bus, await openPostgres(bus.url, { max: concurrency + 1 }))
  }

  /** This node executes the run. */
  async own(runId: string, labelId: string): Promise<void> {
    await this.bus.db.query(
      'INSERT INTO cluster_runs (run_id, node_id, label_id) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO NOTHING',
      [runId, this.bus.nodeId, labelId],
    )
  }

  /** The run ended. */
  async release(runId: string): Promise<void> {
    await this.bus.db.query('DELETE FROM cluster_runs WHERE run_id = $1', [runId])
  }

  /**
   * This node works on the label outside the run queue (an import: its run row has no owner
   * until it ends); its runs are not orphans meanwhile. Returns the release.
   */
  async hold(labelId: string): Promise<() => Promise<void>> {
    const id = `hold:${this.bus.nodeId}:${labelId}`
    await this.bus.db.query(
      'INSERT INTO cluster_runs (run_id, node_id, label_id) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO NOTHING',
      [id, this.bus.nodeId, labelId],
    )
    return async () => {
      await this.bus.db.query('DELETE FROM cluster_runs WHERE run_id = $1', [id])
    }
  }

  /** Runs fn while no other process executes a run of this label (waits for it). */
  serialize<T>(labelId: string, fn: () => Promise<T>): Promise<T> {
    return withXactLock(this.locks, `labels-run:${labelId}`, fn)
  }

  /**
   * The label's runs still queued and created up to and including `run` (`createdAt`, then id),
   * oldest first; imports left out (they never wait in a queue). Asked under the label's lock
   * (`serialize`): the caller executes the older ones first (server/runs/run-queue.ts). `run` is
   * listed only while it is still queued; the others are read with `getRun`.
   *
   * A run that became visible to the others only after a newer one had already run (its row
   * committed late: another process checked before it; or taken over from a dead process after the
   * newer one ran) would, executed now, leave its older results standing behind a newer succeeded
   * run. Such runs, this one and any older still queued, are failed "superseded" instead (they
   * change no result, as a failed run doesn't) and listed as stored now, for the caller to report.
   */
  async queuedThrough(run: Run, getRun: (id: string) => Promise<Run | null>): Promise<Run[]> {
    const r = await this.bus.db.query<{ id: string; newer: string | null }>(
      `WITH me AS (SELECT label_id, created_at, id FROM runs WHERE id = $1)
       SELECT o.id, (SELECT n.id FROM runs n WHERE n.label_id = me.label_id AND n.status = 'succeeded'
                       AND (n.created_at, n.id) > (me.created_at, me.id)
                     ORDER BY n.created_at DESC, n.id DESC LIMIT 1) AS newer
         FROM me JOIN runs o ON o.label_id = me.label_id
        WHERE o.status = 'queued' AND o.trigger <> 'import' AND (o.created_at, o.id) <= (me.created_at, me.id)
        ORDER BY o.created_at, o.id`,
      [run.id],
    )
    const ids = r.rows.map((x) => x.id)
    const newer = r.rows[0]?.newer
    if (newer) {
      const failed = await this.bus.db.query<{ id: string }>(
        `UPDATE runs SET status = 'failed', finished_at = clock_timestamp(), error = $2
          WHERE id = ANY($1::text[]) AND status = 'queued' RETURNING id`,
        [
          ids,
          `superseded: run ${newer} of this label, created after this one, ran first (on another server process); its results stand`,
        ],
      )
      const runs = await Promise.all(failed.rows.map((x) => getRun(x.id)))
      return runs.filter((x): x is Run => x !== null)
    }
    const runs = await Promise.all(ids.map((id) => (id === run.id ? run : getRun(id))))
    return runs.filter((x): x is Run => x?.status === 'queued')
  }

  /** Takes over the runs of dead nodes (and orphans); see the class comment. */
  async takeOver(): Promise<TakenRun[]> {
    const dead = await this.bus.deadNodes()
    const me = this.bus.nodeId
    const leaseSecs = this.bus.leaseMs / 1000
    const taken = await this.bus.db.transaction(async (tx) => {
      const r = await tx.query<{
        id: string
        label_id: string
        status: 'queued' | 'running'
        trigger: RunTrigger
        as_of: Date | string
      }>(
        `SELECT r.id, r.label_id, r.status, r.trigger, r.as_of FROM runs r
           LEFT JOIN cluster_runs c ON c.run_id = r.id
          WHERE r.status IN ('queued', 'running')
            AND ((c.run_id IS NULL AND r.created_at < now() - make_interval(secs => $3)
                  -- an import in progress on a live node
                  AND NOT EXISTS (SELECT 1 FROM cluster_runs h JOIN cluster_nodes n ON n.node_id = h.node_id
                                   WHERE h.run_id LIKE 'hold:%' AND h.label_id = r.label_id
                                     AND NOT (h.node_id = ANY($1::text[]))))
              OR (c.node_id <> $2 AND (c.node_id = ANY($1::text[])
                  OR NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = c.node_id))))
          ORDER BY r.created_at, r.id
          FOR UPDATE OF r SKIP LOCKED`,
        [dead, me, leaseSecs],
      )
      if (r.rows.length === 0) return []
      const ids = r.rows.map((x) => x.id)
      await tx.query(
        `INSERT INTO cluster_runs (run_id, node_id, label_id) SELECT id, $2, label FROM unnest($1::text[], $3::text[]) AS t(id, label)
         ON CONFLICT (run_id) DO UPDATE SET node_id = EXCLUDED.node_id`,
        [ids, me, r.rows.map((x) => x.label_id)],
      )
      const imports = r.rows.filter((x) => x.trigger === 'import').map((x) => x.id)
      if (imports.length)
        await tx.query(
          `UPDATE runs SET status = 'failed', finished_at = clock_timestamp(),
             error = 'interrupted: its server process stopped during the import; nothing of it was stored'
           WHERE id = ANY($1::text[])`,
          [imports],
        )
      const interrupted = r.rows.filter((x) => x.status === 'running' && x.trigger !== 'import').map((x) => x.id)
      if (interrupted.length)
        await tx.query(
          `UPDATE runs SET status = 'failed', finished_at = clock_timestamp(), error = $2 WHERE id = ANY($1::text[])`,
          [interrupted, INTERRUPTED_RUN_ERROR],
        )
      return r.rows.map((x): TakenRun => {
        if (x.trigger === 'import') return { id: x.id, labelId: x.label_id, was: x.status, failed: true }
        if (x.status === 'queued') return { id: x.id, labelId: x.label_id, was: x.status, failed: false }
        const asOf = x.as_of instanceof Date ? x.as_of.toISOString() : new Date(x.as_of).toISOString()
        return { id: x.id, labelId: x.label_id, was: x.status, failed: true, again: { trigger: x.trigger, asOf } }
      })
    })
    // Ended runs' owner rows (a process that died right after its run ended).
    await this.bus.db.query(
      `DELETE FROM cluster_runs c WHERE c.run_id NOT LIKE 'hold:%'
         AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = c.run_id AND r.status IN ('queued', 'running'))`,
    )
    if (dead.length)
      await this.bus.db.query(`DELETE FROM cluster_runs WHERE run_id LIKE 'hold:%' AND node_id = ANY($1::text[])`, [
        dead,
      ])
    return taken
  }

  /**
   * Backfill jobs (engine/calc/backfill-jobs.ts) queued or running whose process is dead, gone,
   * or was never recorded become this node's (`FOR UPDATE SKIP LOCKED`: two sweepers never take
   * the same one). Returns their ids; the caller resumes each from its next undone day (a day
   * counts as done in its own transaction, so the dead process's last day is redone or was done).
   */
  async takeOverBackfills(): Promise<string[]> {
    const dead = await this.bus.deadNodes()
    const r = await this.bus.db.query<{ id: string }>(
      `UPDATE backfills b SET node_id = $2 WHERE b.id IN (
         SELECT f.id FROM backfills f
          WHERE f.status IN ('queued', 'running')
            AND (f.node_id IS NULL OR (f.node_id <> $2 AND (f.node_id = ANY($1::text[])
                 OR NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = f.node_id))))
          ORDER BY f.created_at, f.id
          FOR UPDATE SKIP LOCKED)
       RETURNING b.id`,
      [dead, this.bus.nodeId],
    )
    return r.rows.map((x) => x.id)
  }

  async close(): Promise<void> {
    await this.locks.close()
  }
}
