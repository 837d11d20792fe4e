import type { Distribution, Run, RunTrigger } from '../../engine/api.ts'
import type { ResultCache } from './result-cache.ts'
import type { ReadModel } from './read-model.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'

/** What routes need from the calculation side (run queue + scheduler + live publishing). */
export interface CalcControl {
  /** Queues a run of the label (coalescing while one runs); resolves to its run id. */
  trigger(label: WorkspaceLabel, trigger: RunTrigger, asOf?: string): Promise<string>
  /** The next scheduled run of the label, ISO, or null (static, disabled, once). */
  nextRunAt(label: WorkspaceLabel): string | null
  /** Latest run per label, from memory where possible (see LastRuns). */
  lastRuns(labelIds: string[]): Promise<Record<string, Run | null>>
  /** The label's stored history changed outside a run (buckets set, a backfill day): reads it anew and pushes it live. */
  historyChanged(labelId: string): Promise<void>
  /** Announces a run that finished outside the queue (imports) on the live channel. */
  announce(run: Run): void
  /** Distributions read recently, dropped whenever the label's results change. */
  distributions: ResultCache<Distribution>
  /** Result summaries and history in memory: distribution and history reads are answered from here. */
  reads: ReadModel
  /** A run as last reported, from memory (undefined: ask the engine). */
  run(runId: string): Run | undefined
  /** Keeps a run read from the engine. */
  rememberRun(run: Run): void
  /** The label's newest `limit` runs from memory (undefined: ask the engine, then keepRunList). */
  listedRuns(labelId: string, limit: number): Run[] | undefined
  /** Keeps a runs list read from the engine (kept up to date from then on); returns the list to answer. */
  keepRunList(labelId: string, limit: number, stored: Run[]): Run[]
  /**
   * How long a read that needs the engine may wait for it before answering 503 + Retry-After:
   * a number on PGlite (one connection, held by calculations), undefined on PostgreSQL (reads
   * and previews have a pool of their own).
   */
  readWaitMs: number | undefined
  /** True while a calculation (or import) executes on the engine. */
  calculating(): boolean
}
