import type { Definition, FullRunReason, NewRun, Run, RunStatus, RunTrigger } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'
import type { RunWrites } from './result-swap.ts'
import type { RunTimings, SlowPlan, SlowStatement } from './run-clock.ts'

interface RunRow {
  id: string
  label_id: string
  status: RunStatus
  trigger: RunTrigger
  as_of: Date | string
  created_at: Date | string
  started_at: Date | string | null
  finished_at: Date | string | null
  total_users: number | null
  covered_users: number | null
  error: string | null
  result_writes: RunWrites | null
  changed_users: number | null
  recomputed_users: number | null
  full_run_reason: FullRunReason | null
  timings: RunTimings | string | null
  slow: SlowStatement | string | null
  definition?: Definition
}

const runColumns =
  'id, label_id, status, trigger, as_of, created_at, started_at, finished_at, total_users, covered_users, error, result_writes, changed_users, recomputed_users, full_run_reason, timings, slow'

/** A jsonb column: drivers hand back the parsed value, or its text. */
const json = <T>(v: T | string | null): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : v)

/** A timestamptz column as an ISO string (drivers hand back a Date or a string). */
export const iso = (v: Date | string): string => (v instanceof Date ? v : new Date(v)).toISOString()
export const isoOrNull = (v: Date | string | null): string | null => (v === null ? null : iso(v))

/** Maps a runs row to the run shape (docs/api.md#runs). */
function toRun(r: RunRow): Run {
  return {
    id: r.id,
    labelId: r.label_id,
    status: r.status,
    trigger: r.trigger,
    asOf: iso(r.as_of),
    createdAt: iso(r.created_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    totalUsers: r.total_users,
    coveredUsers: r.covered_users,
    ...(r.error !== null ? { error: r.error } : {}),
    ...(r.result_writes !== null
      ? { resultWrites: r.result_writes, changedUsers: r.changed_users, recomputedUsers: r.recomputed_users }
      : {}),
    ...(r.full_run_reason !== null ? { fullRunReason: r.full_run_reason } : {}),
    ...(r.timings !== null ? { timings: json(r.timings) as RunTimings } : {}),
    ...(r.slow !== null ? { slow: json(r.slow) as SlowStatement } : {}),
  }
}

let lastMs = 0
let tick = 0

/**
 * A sortable, unique run id: 'r_' + time (base36) + a per-process counter + 64 random bits.
 * The counter keeps ids created in the same millisecond in creation order.
 */
export function newRunId(): string {
  const now = Date.now()
  tick = now === lastMs ? tick + 1 : 0
  lastMs = now
  const bytes = new Uint8Array(8)
  globalThis.crypto.getRandomValues(bytes)
  const rand = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
  return `r_${now.toString(36).padStart(9, '0')}${tick.toString(36).padStart(4, '0')}${rand}`
}

/** Parses an ISO instant; a bad one is the caller's fault. */
export function parseAsOf(asOf: string, path = '/asOf'): Date {
  const d = new Date(asOf)
  if (typeof asOf !== 'string' || Number.isNaN(d.getTime()))
    throw new LabelsError('bad_request', `asOf is not an ISO timestamp: ${String(asOf)}`, path)
  return d
}

/** A run as it is queued, nothing of it started: what a caller announces before its row is stored. */
export function queuedRun(r: Pick<Run, 'id' | 'labelId' | 'trigger' | 'asOf' | 'createdAt'>): Run {
  return { ...r, status: 'queued', startedAt: null, finishedAt: null, totalUsers: null, coveredUsers: null }
}

/** Records a queued run with its frozen definition. */
export async function insertRun(db: SqlExecutor, input: NewRun): Promise<Run> {
  const asOf = parseAsOf(input.asOf)
  const createdAt = input.createdAt === undefined ? null : parseAsOf(input.createdAt, '/createdAt').toISOString()
  const r = await db.query<RunRow>(
    `INSERT INTO runs (id, label_id, status, trigger, as_of, created_at, definition)
     VALUES ($1, $2, 'queued', $3, $4, coalesce($6::timestamptz, clock_timestamp()), $5::jsonb) RETURNING ${runColumns}`,
    [
      input.id ?? newRunId(),
      input.labelId,
      input.trigger,
      asOf.toISOString(),
      JSON.stringify(input.definition),
      createdAt,
    ],
  )
  return toRun(r.rows[0] as RunRow)
}

/** One run with its frozen definition, or null. */
export async function loadRun(db: SqlExecutor, runId: string): Promise<(Run & { definition: Definition }) | null> {
  const r = await db.query<RunRow>(`SELECT ${runColumns}, definition FROM runs WHERE id = $1`, [runId])
  const row = r.rows[0]
  if (!row) return null
  const def =
    typeof row.definition === 'string' ? (JSON.parse(row.definition) as Definition) : (row.definition as Definition)
  return { ...toRun(row), definition: def }
}

/** One run, or null. */
export async function getRun(db: SqlExecutor, runId: string): Promise<Run | null> {
  const r = await db.query<RunRow>(`SELECT ${runColumns} FROM runs WHERE id = $1`, [runId])
  return r.rows[0] ? toRun(r.rows[0]) : null
}

/** A label's runs, newest first. */
export async function listRuns(db: SqlExecutor, labelId: string, limit = 50): Promise<Run[]> {
  const n = Math.max(1, Math.min(1000, Math.floor(limit)))
  const r = await db.query<RunRow>(
    `SELECT ${runColumns} FROM runs WHERE label_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
    [labelId, n],
  )
  return r.rows.map(toRun)
}

/** The newest run of each given label. */
export async function lastRuns(db: SqlExecutor, labelIds: string[]): Promise<Record<string, Run>> {
  if (labelIds.length === 0) return {}
  const r = await db.query<RunRow>(
    `SELECT DISTINCT ON (label_id) ${runColumns} FROM runs WHERE label_id = ANY($1::text[]) ORDER BY label_id, created_at DESC, id DESC`,
    [labelIds],
  )
  const out = Object.create(null) as Record<string, Run>
  for (const row of r.rows) out[row.label_id] = toRun(row)
  return out
}

/**
 * The newest `limit` runs of each given label, newest first (each list as listRuns gives it); a
 * label without runs is absent. One statement for every label (the server's start loads its lists).
 */
export async function listRunsOf(db: SqlExecutor, labelIds: string[], limit: number): Promise<Record<string, Run[]>> {
  const out = Object.create(null) as Record<string, Run[]>
  if (labelIds.length === 0) return out
  const n = Math.max(1, Math.min(1000, Math.floor(limit)))
  const r = await db.query<RunRow>(
    // Per label, the index runs_label_created read for `limit` rows (not every run of every label sorted).
    `SELECT r.* FROM unnest($1::text[]) WITH ORDINALITY AS l(id, ord)
     CROSS JOIN LATERAL (
       SELECT ${runColumns} FROM runs WHERE label_id = l.id ORDER BY created_at DESC, id DESC LIMIT $2
     ) r
     ORDER BY l.ord, r.created_at DESC, r.id DESC`,
    [[...new Set(labelIds)], n],
  )
  for (const row of r.rows) (out[row.label_id] ??= []).push(toRun(row))
  return out
}

/**
 * Claims a queued run (queued → running), freezing `definition` if given; false when it isn't
 * queued any more. The stored definition is written again only when it differs (a run claimed
 * with the definition it was created with keeps its stored value: no new copy of the document
 * written and compressed; the claim was a run's costliest small statement, 1.2–1.4 ms at 1M
 * events, before this, and has not been timed alone since), and nothing is read back.
 */
export async function startRun(db: SqlExecutor, runId: string, definition?: Definition): Promise<boolean> {
  const r = await db.query<{ id: string }>(
    `UPDATE runs SET status = 'running', started_at = clock_timestamp(),
       definition = CASE WHEN $2::jsonb IS NULL OR $2::jsonb = definition THEN definition ELSE $2::jsonb END
     WHERE id = $1 AND status = 'queued' RETURNING id`,
    [runId, definition === undefined ? null : JSON.stringify(definition)],
  )
  return r.rows.length > 0
}

/**
 * What a calculation read, recorded on its run for the label's next one (calc/incremental.ts): the
 * data snapshot taken before it, and how many customers it computed when it was restricted to
 * some (null: everyone).
 */
export interface DataRead {
  snapshot: string
  recomputedUsers: number | null
}

/**
 * running → succeeded with its counts and, for a calculation, how it wrote its results and how
 * many customers' values changed (null: not counted) and what it read (`data`: none where no change
 * log is kept); the run as stored. One statement for all of it.
 */
export async function succeedRun(
  db: SqlExecutor,
  runId: string,
  totalUsers: number,
  coveredUsers: number,
  writes?: { how: RunWrites; changedUsers: number | null },
  data?: DataRead,
  clock?: { timings: RunTimings; slow: SlowPlan | null },
  fullRunReason?: FullRunReason,
): Promise<Run> {
  const slow = clock?.slow
  const r = await db.query<RunRow>(
    `UPDATE runs SET status = 'succeeded', finished_at = clock_timestamp(), total_users = $2, covered_users = $3, error = NULL,
       result_writes = $4, changed_users = $5, data_snapshot = $6, recomputed_users = $7, timings = $8::jsonb,
       slow = $9::jsonb, slow_plan = $10::jsonb, full_run_reason = $11 WHERE id = $1 RETURNING ${runColumns}`,
    [
      runId,
      totalUsers,
      coveredUsers,
      writes?.how ?? null,
      writes?.changedUsers ?? null,
      data?.snapshot ?? null,
      data?.recomputedUsers ?? null,
      clock ? JSON.stringify(clock.timings) : null,
      slow ? JSON.stringify({ phase: slow.phase, ms: slow.ms, usualMs: slow.usualMs }) : null,
      slow ? JSON.stringify({ statement: slow.statement, plan: slow.plan }) : null,
      fullRunReason ?? null,
    ],
  )
  if (!r.rows[0]) throw new Error(`run ${runId} vanished while it succeeded`)
  return toRun(r.rows[0])
}

/**
 * The phase times of the label's newest succeeded run before `runId` of the same kind: one that
 * computed every customer (`incremental` false) or one restricted to some (true); null when none.
 */
export async function previousTimings(
  db: SqlExecutor,
  labelId: string,
  runId: string,
  incremental: boolean,
): Promise<RunTimings | null> {
  const r = await db.query<{ timings: RunTimings | string }>(
    `SELECT timings FROM runs WHERE label_id = $1 AND id <> $2 AND status = 'succeeded' AND timings IS NOT NULL
       AND (recomputed_users IS NOT NULL) = $3 ORDER BY created_at DESC, id DESC LIMIT 1`,
    [labelId, runId, incremental],
  )
  return r.rows[0] ? json(r.rows[0].timings) : null
}

/**
 * The slow statement a run kept, with its plan (run-clock.ts): null when the run has none,
 * undefined when there is no such run.
 */
export async function slowPlan(db: SqlExecutor, runId: string): Promise<SlowPlan | null | undefined> {
  const r = await db.query<{
    slow: SlowStatement | string | null
    slow_plan: Pick<SlowPlan, 'statement' | 'plan'> | string | null
  }>('SELECT slow, slow_plan FROM runs WHERE id = $1', [runId])
  const row = r.rows[0]
  if (!row) return undefined
  const slow = json(row.slow)
  const plan = json(row.slow_plan)
  return slow && plan ? { ...slow, ...plan } : null
}

/** → failed with the error operators will see. */
export async function failRun(db: SqlExecutor, runId: string, error: string): Promise<Run | null> {
  const r = await db.query<RunRow>(
    `UPDATE runs SET status = 'failed', finished_at = clock_timestamp(), error = $2 WHERE id = $1 RETURNING ${runColumns}`,
    [runId, error.slice(0, 2000)],
  )
  return r.rows[0] ? toRun(r.rows[0]) : null
}

/** Marks runs a crash left queued or running as failed ('interrupted'). */
export async function failInterruptedRuns(db: SqlExecutor): Promise<Run[]> {
  const r = await db.query<RunRow>(
    `UPDATE runs SET status = 'failed', finished_at = clock_timestamp(), error = 'interrupted'
     WHERE status IN ('queued','running') RETURNING ${runColumns}`,
  )
  return r.rows
    .map(toRun)
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
}
