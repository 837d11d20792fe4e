import type { Distribution, Run, RunTrigger } from '../../engine/api.ts'
import type { ResultCache } from './result-cache.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'

/** What routes need from the calculation side (run queue + scheduler + live publishing). */
export interface CalcControl {
  /** Queues a run of the label (coalescing while one runs); resolves to its run id. */
  trigger(label: WorkspaceLabel, trigger: RunTrigger, asOf?: string): Promise<string>
  /** The next scheduled run of the label, ISO, or null (static, disabled, once). */
  nextRunAt(label: WorkspaceLabel): string | null
  /** Latest run per label, from memory where possible (see LastRuns). */
  lastRuns(labelIds: string[]): Promise<Record<string, Run | null>>
  /** Announces a run that finished outside the queue (imports) on the live channel. */
  announce(run: Run): void
  /** Distributions read recently, dropped whenever the label's results change. */
  distributions: ResultCache<Distribution>
}
