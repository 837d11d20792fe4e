import type {
  AudiencePage,
  Backfill,
  Definition,
  Distribution,
  DistributionQuery,
  EngineApi,
  HistoryBucketsChange,
  HistoryBucketsInput,
  HistoryDay,
  HistoryBucketsState,
  HistoryQuery,
  HistoryResult,
  ImportReport,
  IngestReport,
  Run,
  Sample,
  SchemaDescription,
  SlowPlan,
  Comparison,
  LabelVersion,
  RecordVersionInput,
  VersionSummary,
  Explanation,
  NewRun,
} from './api.ts'
import type { DataType } from '../shared/schemas/label.ts'
import { withXactLock, type SqlExecutor } from './sql-executor.ts'
import { notFound } from '../shared/errors.ts'
import { migrate as migrateCore } from './storage/ddl.ts'
import { describeSchema, loadCatalogue } from './storage/catalogue.ts'
import { Ingestor } from './ingest/index.ts'
import { dropStaleStages } from './ingest/stage.ts'
import { compileRule, validateDefinition } from './compiler/index.ts'
import { claimScheduleSlot, deleteScheduleSlots, lastScheduleSlot, migrateScheduleSlots } from './schedule-slots.ts'
import { migrateCalc } from './calc/ddl.ts'
import * as runs from './calc/runs.ts'
import { executeRun, type CompileFn } from './calc/execute-run.ts'
import type { Incremental } from './calc/incremental.ts'
import { pruneChanges } from './storage/changes.ts'
import { vacuumDue } from './storage/vacuum.ts'
import { compactUserCount } from './storage/user-count.ts'
import { importValues } from './calc/import-values.ts'
import { dropResults, type ResultWrites } from './calc/result-swap.ts'
import { deleteHistory } from './calc/history-snapshot.ts'
import { backfillDay, type BackfillDayInput } from './calc/backfill.ts'
import * as backfillJobs from './calc/backfill-jobs.ts'
import { deleteBuckets, loadBuckets, otherDays, setHistoryBuckets } from './calc/history-buckets.ts'
import { labelDistribution } from './read/distribution.ts'
import { DistributionCache } from './read/distribution-cache.ts'
import { labelHistory } from './read/history.ts'
import { labelAudience } from './read/audience.ts'
import { userLabels } from './read/user-labels.ts'
import { explainCustomer } from './read/explain.ts'
import { previewDefinition } from './read/preview.ts'
import { executeRefresh, type RefreshItem } from './calc/refresh.ts'
import { readSample } from './read/sample.ts'
import { loadDemo } from './demo/index.ts'
import * as versions from './label-versions.ts'
import { compareDefinition } from './read/compare.ts'
import { loadReadModels, type LabelReadModel, type RunOutcome } from './read/read-model.ts'

export interface EngineServiceOptions {
  /** Turns a definition into its source SQL; defaults to the rule compiler over the current catalogue. */
  compile?: CompileFn
  /** Loads the demo workspace; defaults to engine/demo's seeded generator. */
  loadDemo?: (
    db: SqlExecutor,
    opts: { users: number; seed?: number; now?: string },
  ) => Promise<{ users: number; events: number }>
  /**
   * Connections for reads and previews (PostgreSQL: a pool of its own, so they never wait for a
   * connection that calculations and ingestion hold). Defaults to `db`; closed with it.
   */
  readDb?: SqlExecutor
  /**
   * How runs write their results (LABELS_RESULT_WRITES, engine/calc/result-swap.ts): `swap`
   * (default) fills a new table and swaps, `changed` writes only the customers whose value changed,
   * `auto` chooses per run from the label's last run.
   */
  resultWrites?: ResultWrites
  /**
   * LABELS_INCREMENTAL (default true): a label's next run of the same rule computes only the
   * customers whose data or windows changed (engine/calc/incremental.ts); `always`: even where
   * its last restricted run took longer than a full one.
   */
  incremental?: Incremental
  /**
   * A run's statement at least this long (default 1000 ms) is compared with the label's previous
   * run, and its plan kept when it took 10 times its phase's time there (engine/calc/run-clock.ts).
   */
  slowStatementMs?: number
}

/** How often a service prunes the change log (before a run). */
const PRUNE_EVERY_MS = 10 * 60_000

/** The rule compiler over the catalogue as it is when the run starts (read here unless the run did). */
export const compileWithCatalogue: CompileFn = async (def, { db, catalogue, ...ctx }) =>
  compileRule(def, { catalogue: catalogue ?? (await loadCatalogue(db)), ...ctx })

/**
 * The engine facade over one SqlExecutor (EngineApi). Every argument and result is
 * structured-clonable, so the same object serves in-process and behind comlink in a worker.
 */
export class EngineService implements EngineApi {
  private readonly ingests = new Map<string, Ingestor>()
  private readonly compile: CompileFn
  private readonly distributions = new DistributionCache()
  private readonly reads: SqlExecutor
  private readonly resultWrites: ResultWrites
  private readonly incremental: Incremental
  /** Which database (an instance field, not a method: the worker host forwards methods only). */
  readonly kind: 'pglite' | 'postgres'

  constructor(
    private readonly db: SqlExecutor,
    private readonly opts: EngineServiceOptions = {},
  ) {
    this.compile = opts.compile ?? compileWithCatalogue
    this.reads = opts.readDb ?? db
    this.resultWrites = opts.resultWrites ?? 'swap'
    this.incremental = opts.incremental ?? true
    this.kind = db.kind
  }

  async migrate(): Promise<void> {
    const all = async (db: SqlExecutor) => {
      await migrateCore(db)
      await dropStaleStages(db)
      await migrateCalc(db)
      await migrateScheduleSlots(db)
      await versions.migrateLabelVersions(db)
    }
    // Several server processes may start at once on one PostgreSQL (or Citus coordinator):
    // concurrent CREATE … IF NOT EXISTS collide in the catalogue ("pg_type_typname_nsp_index"),
    // so the migration is one transaction under an advisory lock.
    if (this.db.kind !== 'postgres') return all(this.db)
    await withXactLock(this.db, 'labels-engine-ddl', all)
  }

  async schema(): Promise<SchemaDescription> {
    return describeSchema(await loadCatalogue(this.db))
  }

  async beginIngest(
    kind: 'users' | 'events',
    format: 'ndjson' | 'csv',
    opts: { skipInvalid?: boolean; maxRows?: number; parse?: 'inline' | 'worker' } = {},
  ): Promise<string> {
    const id = `ing_${runs.newRunId().slice(2)}`
    this.ingests.set(id, new Ingestor(this.db, kind, format, opts))
    return id
  }

  private ingestor(sessionId: string): Ingestor {
    const s = this.ingests.get(sessionId)
    if (!s) throw notFound(`ingest session ${sessionId} not found`)
    return s
  }

  async pushIngest(sessionId: string, chunk: string): Promise<void> {
    try {
      await this.ingestor(sessionId).push(chunk)
    } catch (e) {
      this.ingests.delete(sessionId) // the ingestor aborted itself: the session is over
      throw e
    }
  }

  async finishIngest(sessionId: string): Promise<IngestReport> {
    const s = this.ingestor(sessionId)
    this.ingests.delete(sessionId)
    return s.finish()
  }

  async abortIngest(sessionId: string): Promise<void> {
    const s = this.ingests.get(sessionId)
    this.ingests.delete(sessionId)
    if (s) await s.abort()
  }

  async validateDefinition(def: Definition): Promise<void> {
    validateDefinition(def, await loadCatalogue(this.reads))
  }

  createRun(input: NewRun): Promise<Run> {
    return runs.insertRun(this.db, input)
  }

  /** When the change log was last pruned (storage/changes.ts), by this service. */
  private prunedAt = 0

  /**
   * Prunes the change log, folds the kept customer count (storage/user-count.ts) and, on PGlite,
   * vacuums the tables that need it (storage/vacuum.ts) before a run, at most every PRUNE_EVERY_MS;
   * with incremental runs off too, since ingestion still writes the log (storage/changes.ts).
   */
  private async pruneLog(): Promise<void> {
    if (Date.now() - this.prunedAt < PRUNE_EVERY_MS) return
    this.prunedAt = Date.now()
    await pruneChanges(this.db)
    await compactUserCount(this.db)
    // PGlite only: it has no autovacuum (storage/vacuum.ts). Housekeeping: a failure must not fail the run.
    await vacuumDue(this.db).catch((e: unknown) => console.warn('engine: vacuum before a run failed:', e))
  }

  async executeRun(runId: string, opts: { tz: string; timeoutMs?: number; definition?: Definition }): Promise<Run> {
    await this.pruneLog()
    return (
      await executeRun(this.db, runId, {
        ...opts,
        ...this.runOptions(),
      })
    ).run
  }

  async executeRunWithResults(
    runId: string,
    opts: { tz: string; timeoutMs?: number; definition?: Definition },
  ): Promise<RunOutcome> {
    await this.pruneLog()
    return executeRun(this.db, runId, { ...opts, ...this.runOptions() })
  }

  /** What every run of this service is executed with besides its own options. */
  private runOptions() {
    return {
      compile: this.compile,
      resultWrites: this.resultWrites,
      incremental: this.incremental,
      ...(this.opts.slowStatementMs !== undefined ? { slowStatementMs: this.opts.slowStatementMs } : {}),
    }
  }

  /**
   * Executes queued runs of labels due together (a schedule slot's), in order, reading event
   * tables that several of them aggregate once (engine/calc/refresh.ts); each run otherwise as
   * executeRunWithResults. `shared: false` computes each alone.
   */
  refreshRuns(items: RefreshItem[], opts: { tz: string; timeoutMs?: number; shared?: boolean }): Promise<RunOutcome[]> {
    return executeRefresh(this.db, items, {
      ...opts,
      ...this.runOptions(),
      ...(this.opts.compile ? { shared: false } : {}),
    })
  }

  readModels(labelIds: string[] | null): Promise<LabelReadModel[]> {
    return loadReadModels(this.reads, labelIds)
  }

  failInterruptedRuns(): Promise<Run[]> {
    return runs.failInterruptedRuns(this.db)
  }

  getRun(runId: string): Promise<Run | null> {
    return runs.getRun(this.reads, runId)
  }

  slowPlan(runId: string): Promise<SlowPlan | null | undefined> {
    return runs.slowPlan(this.reads, runId)
  }

  listRuns(labelId: string, limit?: number): Promise<Run[]> {
    return runs.listRuns(this.reads, labelId, limit)
  }

  lastRuns(labelIds: string[]): Promise<Record<string, Run>> {
    return runs.lastRuns(this.reads, labelIds)
  }

  listRunsOf(labelIds: string[], limit: number): Promise<Record<string, Run[]>> {
    return runs.listRunsOf(this.reads, labelIds, limit)
  }

  async deleteLabelData(labelId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await dropResults(tx, labelId)
      await deleteHistory(tx, labelId)
      await deleteBuckets(tx, labelId)
      await tx.query(`DELETE FROM runs WHERE label_id = $1`, [labelId])
      await tx.query(`DELETE FROM backfills WHERE label_id = $1`, [labelId])
      await deleteScheduleSlots(tx, labelId)
    })
  }

  /** `dataType` is informational: buckets follow the type of the stored results. */
  distribution(labelId: string, _dataType: DataType, query: DistributionQuery): Promise<Distribution | null> {
    return labelDistribution(this.reads, labelId, query, this.distributions)
  }

  history(labelId: string, query: HistoryQuery): Promise<HistoryResult> {
    return labelHistory(this.reads, labelId, query)
  }

  async historyBuckets(labelId: string, dataType: DataType): Promise<HistoryBucketsState> {
    const buckets = await loadBuckets(this.reads, labelId, dataType)
    return { labelId, buckets, otherDays: await otherDays(this.reads, labelId, buckets) }
  }

  backfillDay(input: BackfillDayInput): Promise<HistoryDay> {
    return backfillDay(this.db, input, this.compile)
  }

  createBackfill(input: Parameters<EngineApi['createBackfill']>[0]): Promise<Backfill> {
    return backfillJobs.insertBackfill(this.db, input)
  }

  getBackfill(id: string): Promise<Backfill | null> {
    return backfillJobs.getBackfill(this.db, id)
  }

  listBackfills(labelId: string, limit?: number): Promise<Backfill[]> {
    return backfillJobs.listBackfills(this.db, labelId, limit)
  }

  updateBackfill(id: string, to: Parameters<EngineApi['updateBackfill']>[1]): Promise<Backfill | null> {
    return backfillJobs.updateBackfill(this.db, id, to)
  }

  cancelBackfill(id: string): Promise<Backfill> {
    return backfillJobs.cancelBackfill(this.db, id)
  }

  claimOpenBackfills(nodeId: string): Promise<Backfill[]> {
    return backfillJobs.claimOpenBackfills(this.db, nodeId)
  }

  setHistoryBuckets(labelId: string, dataType: DataType, input: HistoryBucketsInput): Promise<HistoryBucketsChange> {
    return setHistoryBuckets(this.db, labelId, dataType, input)
  }

  audience(
    labelId: string,
    _dataType: DataType,
    query: { value?: string; after?: string; limit?: number },
  ): Promise<AudiencePage> {
    return labelAudience(this.reads, labelId, query)
  }

  userLabels(userId: string): Promise<Array<{ labelId: string; value: unknown; asOf: string }>> {
    return userLabels(this.reads, userId)
  }

  explain(
    labelId: string,
    userId: string,
    opts: { tz: string; definition?: Definition; timeoutMs?: number },
  ): Promise<Explanation> {
    return explainCustomer(this.reads, labelId, userId, opts)
  }

  importValues(input: {
    labelId: string
    dataType: DataType
    csv: string
    mode: 'replace' | 'merge'
    tz: string
    definition: Definition
    skipInvalid?: boolean
    runId?: string
  }): Promise<ImportReport> {
    return importValues(this.db, input)
  }

  preview(
    def: Definition,
    opts: { asOf?: string; tz: string; timeoutMs?: number; startedAt?: number; query?: DistributionQuery },
  ): Promise<Distribution> {
    return previewDefinition(this.reads, def, opts, this.compile)
  }

  claimScheduleSlot(labelId: string, slotIso: string): Promise<boolean> {
    return claimScheduleSlot(this.db, labelId, slotIso)
  }

  lastScheduleSlot(labelId: string): Promise<string | null> {
    return lastScheduleSlot(this.db, labelId)
  }

  sample(opts: { users?: number; seed?: number }): Promise<Sample> {
    return readSample(this.reads, opts)
  }

  recordVersion(input: RecordVersionInput): Promise<LabelVersion | null> {
    return versions.recordVersion(this.db, input)
  }

  listVersions(labelId: string, limit?: number): Promise<VersionSummary[]> {
    return versions.listVersions(this.db, labelId, limit)
  }

  getVersion(labelId: string, n: number): Promise<LabelVersion | null> {
    return versions.getVersion(this.db, labelId, n)
  }

  labelsWithVersions(labelIds: string[]): Promise<string[]> {
    return versions.labelsWithVersions(this.db, labelIds)
  }

  compare(
    labelId: string,
    def: Definition,
    opts: { asOf?: string; tz: string; timeoutMs?: number; query?: DistributionQuery; maxTransitions?: number },
  ): Promise<Comparison> {
    return compareDefinition(this.reads, labelId, def, opts, this.compile)
  }

  async loadDemo(opts: { users: number; seed?: number; now?: string }): Promise<{ users: number; events: number }> {
    return (this.opts.loadDemo ?? loadDemo)(this.db, opts)
  }

  async close(): Promise<void> {
    for (const id of [...this.ingests.keys()]) await this.abortIngest(id)
    await this.db.close()
    if (this.reads !== this.db) await this.reads.close()
  }
}
