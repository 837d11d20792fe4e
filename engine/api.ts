import type { Static } from 'typebox'
import type { DataType } from '../shared/schemas/label.ts'
import type { Rule } from '../shared/schemas/rule.ts'
import type { DefinitionChange, LabelDefinition } from '../shared/rule-diff.ts'
import type { HistoryDay, LabelReadModel, RunOutcome } from './read/read-model.ts'
import type { BackfillDayInput } from './calc/backfill.ts'
import type * as Wire from '../shared/schemas/wire.ts'
import type { Explanation } from './read/explain-types.ts'
import type {
  AudiencePage,
  Backfill,
  Comparison,
  Distribution,
  HistoryBucketsChange,
  HistoryBucketsInput,
  HistoryBucketsState,
  HistoryResult,
  ImportReport,
  IngestReport,
  Run,
  RunTrigger,
  SampleEvent,
  SampleUser,
  SchemaDescription,
  SlowPlan,
  VersionKind,
} from '../shared/schemas/wire.ts'

export type { BackfillDayInput } from './calc/backfill.ts'
export type { HistoryDay, LabelReadModel, RunOutcome, RunResults } from './read/read-model.ts'
export type { ResultSummary } from './read/result-summary.ts'
export type * from './read/explain-types.ts'
// The wire types: the Static<> types of the response schemas (one declaration, shared/schemas/wire.ts).
export type {
  AudiencePage,
  Backfill,
  BackfillStatus,
  Comparison,
  Distribution,
  DistributionItem,
  FullRunReason,
  HistoryBuckets,
  HistoryBucketsChange,
  HistoryBucketsInput,
  HistoryBucketsState,
  HistoryResult,
  ImportReport,
  IngestReport,
  Run,
  RunStatus,
  RunTrigger,
  SampleEvent,
  SampleUser,
  SampleValue,
  SchemaDescription,
  RunTimings,
  SlowPlan,
  SlowStatement,
  Transition,
  TransitionValue,
  VersionKind,
} from '../shared/schemas/wire.ts'

/** A run to store, queued; `id` and `createdAt` when the caller acknowledged it already (server/runs/run-journal.ts). */
export interface NewRun {
  labelId: string
  trigger: RunTrigger
  asOf: string
  definition: Definition
  id?: string
  createdAt?: string
}

/**
 * The engine's facade, implemented by `EngineService` (engine/service.ts) over one SqlExecutor.
 * Arguments and results are structured-clonable so the same API runs in-process or in a
 * worker_thread behind comlink; callers never know which they hold.
 */
export interface EngineApi {
  /** Creates/upgrades all tables; idempotent. */
  migrate(): Promise<void>
  /** GET /api/data/schema shape. */
  schema(): Promise<SchemaDescription>

  /** Streamed, all-or-nothing ingestion: begin, push text chunks, then finish (commit) or abort. */
  beginIngest(
    kind: 'users' | 'events',
    format: 'ndjson' | 'csv',
    opts?: { skipInvalid?: boolean; maxRows?: number; parse?: 'inline' | 'worker' },
  ): Promise<string>
  pushIngest(sessionId: string, chunk: string): Promise<void>
  finishIngest(sessionId: string): Promise<IngestReport>
  abortIngest(sessionId: string): Promise<void>

  /** Throws LabelsError('invalid', message, path) when the rule doesn't fit the catalogue or data type. */
  validateDefinition(def: Definition): Promise<void>

  /** Records a queued run; `definition` is frozen into the run (a later edit doesn't change it). */
  createRun(input: NewRun): Promise<Run>
  /**
   * Executes a queued run: running → succeeded (results swapped, history written) or failed.
   * `definition`, when given, is the label's definition as the run starts and replaces the one
   * frozen at creation: a queued run has not started, so it takes edits made while it waited.
   */
  executeRun(runId: string, opts: { tz: string; timeoutMs?: number; definition?: Definition }): Promise<Run>
  /** Marks runs left `queued`/`running` by a crash as failed ("interrupted"); returns them. */
  failInterruptedRuns(): Promise<Run[]>
  getRun(runId: string): Promise<Run | null>
  /**
   * The statement of a run that took far longer than in the label's previous run, with its plan
   * (engine/calc/run-clock.ts); null when the run kept none, undefined when there is no such run.
   */
  slowPlan(runId: string): Promise<SlowPlan | null | undefined>
  listRuns(labelId: string, limit?: number): Promise<Run[]>
  /** Latest run of each label (for label + lastRun). */
  lastRuns(labelIds: string[]): Promise<Record<string, Run>>
  /** The newest `limit` runs of each label, newest first; labels without runs are absent. */
  listRunsOf(labelIds: string[], limit: number): Promise<Record<string, Run[]>>
  /** Removes a label's results, history and runs. */
  deleteLabelData(labelId: string): Promise<void>

  distribution(labelId: string, dataType: DataType, query: DistributionQuery): Promise<Distribution | null>
  history(labelId: string, query: HistoryQuery): Promise<HistoryResult>
  /** The fixed buckets of a number or date label's history, and the stored days in other buckets. */
  historyBuckets(labelId: string, dataType: DataType): Promise<HistoryBucketsState>
  /**
   * Calculates the label as of the end of a past day and writes only that day's history snapshot
   * (engine/calc/backfill.ts): a backfill's step. 400 for an import label.
   */
  backfillDay(input: BackfillDayInput): Promise<HistoryDay>
  /**
   * Backfill jobs stored beside runs (engine/calc/backfill-jobs.ts). create: queued, owned by
   * `nodeId`; 409 while the label has one queued or running.
   */
  createBackfill(input: {
    id: string
    labelId: string
    labelName: string
    days: number
    from: string
    to: string
    nodeId: string
  }): Promise<Backfill>
  getBackfill(id: string): Promise<Backfill | null>
  /** A label's backfills, newest first. */
  listBackfills(labelId: string, limit?: number): Promise<Backfill[]>
  /** A queued or running job to running or to its end; null when it already ended (cancelled) or is gone. */
  updateBackfill(
    id: string,
    to: { status: 'running' } | { status: 'succeeded' } | { status: 'failed'; error: string },
  ): Promise<Backfill | null>
  /** Cancels a queued or running job (404 unknown, 409 ended). */
  cancelBackfill(id: string): Promise<Backfill>
  /** Every job left queued or running becomes `nodeId`'s (start-up of a single process); oldest first. */
  claimOpenBackfills(nodeId: string): Promise<Backfill[]>
  /** Sets them (operator) and re-counts the stored days where the data allows (engine/calc/history-buckets.ts). */
  setHistoryBuckets(labelId: string, dataType: DataType, input: HistoryBucketsInput): Promise<HistoryBucketsChange>
  /** One page of a label's audience, ordered by uid; pass `after` = previous nextCursor. */
  audience(
    labelId: string,
    dataType: DataType,
    query: { value?: string; after?: string; limit?: number },
  ): Promise<AudiencePage>
  userLabels(userId: string): Promise<Array<{ labelId: string; value: unknown; asOf: string }>>
  /**
   * Why a customer has their value (engine/read/explain.ts): the stored value beside the run's rule
   * evaluated for this customer, with the reason per method. Unknown customer: LabelsError not_found.
   */
  explain(
    labelId: string,
    userId: string,
    opts: { tz: string; definition?: Definition; timeoutMs?: number },
  ): Promise<Explanation>

  /**
   * Import method values from CSV `user_id,value`; runs as a run with trigger 'import'. skipInvalid: store the good
   * rows and report the rest (docs/api.md#import: import files follow the ingestion rule).
   */
  importValues(input: {
    labelId: string
    dataType: DataType
    csv: string
    mode: 'replace' | 'merge'
    tz: string
    definition: Definition
    skipInvalid?: boolean
    runId?: string
  }): Promise<ImportReport>

  /** Evaluates an unsaved definition, stores nothing; timeoutMs counts from startedAt (epoch ms) when given. */
  preview(
    def: Definition,
    opts: { asOf?: string; tz: string; timeoutMs?: number; startedAt?: number; query?: DistributionQuery },
  ): Promise<Distribution>

  /** Scheduler bookkeeping (engine/schedule-slots.ts): claims a label's schedule slot; true when this caller won it. */
  claimScheduleSlot(labelId: string, slotIso: string): Promise<boolean>
  /** The latest schedule slot claimed for a label (ISO string), or null. */
  lastScheduleSlot(labelId: string): Promise<string | null>

  /**
   * A deterministic pseudo-random sample of up to `users` customers (default 2000, at most
   * 20 000) for a `seed`: their attributes and all their events in ingestion order, in the
   * ingestion record shape (docs/api.md#ingestion-records), so ingesting it elsewhere reproduces their results.
   */
  sample(opts: { users?: number; seed?: number }): Promise<Sample>

  /**
   * Version history (engine/label-versions.ts): records a change of a label's definition as
   * its next version, with the readable diff against the previous one; null when no
   * versioned field changed.
   */
  recordVersion(input: RecordVersionInput): Promise<LabelVersion | null>
  /** A label's versions, newest first (also of a deleted label: its history is kept). */
  listVersions(labelId: string, limit?: number): Promise<VersionSummary[]>
  /** One version with its full definition, or null. */
  getVersion(labelId: string, n: number): Promise<LabelVersion | null>
  /** Of these label ids, those that already have a version. */
  labelsWithVersions(labelIds: string[]): Promise<string[]>
  /**
   * Before/after of a rule change (engine/read/compare.ts): the label's current results
   * beside the given definition evaluated now on the full data, and how many customers move
   * from each value to each other one. Stores nothing; timeoutMs bounds it like a preview.
   */
  compare(
    labelId: string,
    def: Definition,
    opts: { asOf?: string; tz: string; timeoutMs?: number; query?: DistributionQuery; maxTransitions?: number },
  ): Promise<Comparison>

  /** Which database the engine runs on (EngineService and the worker host both say). */
  readonly kind?: 'pglite' | 'postgres'
  /**
   * executeRun that also hands back what a successful run produced for reads (its result
   * summary and history day), so the server can answer reads from memory without asking the
   * engine again (on PGlite the next calculation would hold the connection by then).
   */
  executeRunWithResults?(
    runId: string,
    opts: { tz: string; timeoutMs?: number; definition?: Definition },
  ): Promise<RunOutcome>
  /**
   * Executes queued runs of labels due together (one schedule slot's), in order, each as
   * executeRunWithResults, with event tables that several of them aggregate read once (shared
   * scans, engine/calc/refresh.ts). Outcomes in the order of `items`.
   */
  refreshRuns?(
    items: Array<{ runId: string; definition?: Definition }>,
    opts: { tz: string; timeoutMs?: number; shared?: boolean },
  ): Promise<RunOutcome[]>
  /** Result summaries and history of these labels (null: every label), for the server's in-memory read model. */
  readModels?(labelIds: string[] | null): Promise<LabelReadModel[]>

  /** Loads the seeded demo customers and events. */
  loadDemo(opts: { users: number; seed?: number; now?: string }): Promise<{ users: number; events: number }>
  close(): Promise<void>
}

export interface Definition {
  dataType: DataType
  rule: Rule
}

/** EngineApi.sample: the sampled customers, their events in ingestion order, and the data schema they follow. */
export interface Sample {
  users: SampleUser[]
  events: SampleEvent[]
  /** Users in the whole workspace. */
  totalUsers: number
  /** Every attribute and property with its type, so a replica can declare them before ingesting. */
  schema: SchemaDescription
}

export interface DistributionQuery {
  top?: number
  sort?: 'users' | 'value'
  order?: 'desc' | 'asc'
  bins?: number
  boundaries?: number[]
  granularity?: 'day' | 'week' | 'month'
}

export interface HistoryQuery {
  from?: string
  to?: string
  values?: string[]
}

export interface RecordVersionInput {
  labelId: string
  /** Server time of the change (ISO). */
  at: string
  /** The operator (or 'server') whose transaction changed the label. */
  actor: string
  kind: VersionKind
  /** The change's origin: `rest` (API), `remote` (a browser), `server`, `repair`… */
  via: string
  definition: LabelDefinition
  /** The definition before the change, for a label without any version yet. */
  previous?: LabelDefinition
  previousAt?: string
  previousActor?: string
  /** Group names by id, so the diff names groups. */
  groupNames?: Record<string, string>
}

/** A version in the list: who, when, how, what changed (the wire schema, with the diff's precise field names). */
export type VersionSummary = Omit<Static<typeof Wire.VersionSummary>, 'changes'> & { changes: DefinitionChange[] }

export interface LabelVersion extends VersionSummary {
  definition: LabelDefinition
}

/** Server → client messages of the live channel (docs/api.md#live-channel). */
export type LiveMessage =
  | { type: 'run'; run: Run }
  | ({ type: 'distribution'; labelId: string } & Omit<Distribution, 'labelId'>)
  | ({ type: 'history' } & HistoryResult)
  | { type: 'backfill'; backfill: Wire.Backfill }
  | { type: 'subscribed'; topics: string[] }
  | { type: 'error'; message: string }
