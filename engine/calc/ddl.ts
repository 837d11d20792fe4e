import { dropStaleScans } from './refresh.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { backfillDdl } from './backfill-jobs.ts'

/**
 * Tables of calculation: runs, the per-label pointer to the current results, and history.
 *
 * Results live in one table per label, `res_<n>(uid int PRIMARY KEY, value T)`, named from
 * `result_table_seq` (never from input). `label_state` points at the current one and names
 * the run whose results it holds. A run of a label whose results already have its data type
 * writes only what changed into that table, in its transaction (engine/calc/result-swap.ts
 * applyChanges); the first run, a changed data type, an import and Citus fill a fresh table
 * (on Citus, the label's emptied spare when it has one) and then, in the same transaction, move
 * the pointer and drop the old table (on Citus keep it as the label's spare). Readers (who
 * always resolve the table through `label_state`, and keep a read only if the pointer still
 * names the same run after it: engine/read/label-state.ts readCurrent) see either the old or
 * the new complete results. `definition` is frozen into the run when it is created.
 * `label_summary` holds, per label, the JSON ResultSummary of its current run (engine/read/
 * result-summary.ts), written in the run's transaction: what the server keeps in memory to
 * answer distribution reads without the database. `history_buckets` holds the fixed buckets of
 * a number or date label's history (engine/calc/history-buckets.ts); `history.bucketing` the
 * buckets each row was written with (NULL: before fixed buckets). `runs.result_writes` says how a
 * succeeded calculation wrote its results (`swap` or `changed`: in place) and `changed_users` how
 * many customers' values it changed (NULL: not counted, or a run from before these columns):
 * LABELS_RESULT_WRITES=auto chooses the label's next run's way from them. `result_spares` names,
 * on Citus only, a label's spare result table: the one its last swap replaced, emptied and filled
 * by its next run instead of creating a distributed table (result-swap.ts releaseTable).
 * `runs.timings` holds a succeeded calculation's time per phase, `runs.slow` the statement that
 * took far longer than in the label's previous run, if one did, and `runs.slow_plan` its text and
 * EXPLAIN (engine/calc/run-clock.ts).
 */
export const calcDdl = `
CREATE SEQUENCE IF NOT EXISTS result_table_seq;
CREATE TABLE IF NOT EXISTS runs (
  id text PRIMARY KEY,
  label_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
  trigger text NOT NULL,
  as_of timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  total_users int,
  covered_users int,
  error text,
  definition jsonb NOT NULL
);
ALTER TABLE runs ADD COLUMN IF NOT EXISTS result_writes text CHECK (result_writes IN ('swap','changed'));
ALTER TABLE runs ADD COLUMN IF NOT EXISTS changed_users int;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS data_snapshot text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS recomputed_users int;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS full_run_reason text;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS timings jsonb;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS slow jsonb;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS slow_plan jsonb;
CREATE INDEX IF NOT EXISTS runs_label_created ON runs (label_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_open ON runs (status) WHERE status IN ('queued','running');
CREATE TABLE IF NOT EXISTS label_state (
  label_id text PRIMARY KEY,
  run_id text NOT NULL,
  result_table text NOT NULL,
  data_type text NOT NULL,
  as_of timestamptz NOT NULL,
  tz text NOT NULL,
  total_users int NOT NULL,
  covered_users int NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
  label_id text NOT NULL,
  date date NOT NULL,
  value text NOT NULL,
  users int NOT NULL,
  total_users int NOT NULL,
  run_id text NOT NULL,
  PRIMARY KEY (label_id, date, value)
);
ALTER TABLE history ADD COLUMN IF NOT EXISTS bucketing text;
CREATE TABLE IF NOT EXISTS history_buckets (
  label_id text PRIMARY KEY,
  data_type text NOT NULL,
  boundaries float8[],
  granularity text CHECK (granularity IN ('day','week','month')),
  source text NOT NULL CHECK (source IN ('first_run','operator')),
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS result_spares (
  label_id text PRIMARY KEY,
  result_table text NOT NULL,
  data_type text NOT NULL
);
CREATE TABLE IF NOT EXISTS label_summary (
  label_id text PRIMARY KEY,
  run_id text NOT NULL,
  summary text NOT NULL
);
`

/** Creates the calculation tables if missing; idempotent, runs after the core migrate(). */
export async function migrateCalc(db: SqlExecutor): Promise<void> {
  await db.exec(calcDdl)
  await db.exec(backfillDdl)
  await dropStaleScans(db)
}
