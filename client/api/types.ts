import type { LiveMessage, Run, SchemaDescription } from '../../engine/api.ts'
import type { Label } from '../../shared/schemas/label.ts'

export type {
  Distribution,
  DistributionItem,
  DistributionQuery,
  HistoryResult,
  Run,
  RunTimings,
  SchemaDescription,
  SlowPlan,
} from '../../engine/api.ts'

/** GET /api/labels/:label — the definition plus its latest run and next scheduled run. */
export interface LabelView extends Label {
  nameConflict?: boolean
  lastRun: Run | null
  nextRunAt: string | null
}

/** GET /api/me; `tz` is the workspace time zone (IANA) that schedules, windows and previews use. */
export interface Me {
  name: string
  role: 'viewer' | 'editor' | 'admin'
  tz: string
}

export type { LiveMessage }

export type { SchemaDescription as DataSchema }
