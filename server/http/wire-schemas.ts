import { Type, type TSchema } from 'typebox'
import type { Schedule } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import { Run } from '../../shared/schemas/wire.ts'

/**
 * Response shapes of the routes (docs/api.md#routes). The shapes the engine also returns are declared once, in
 * shared/schemas/wire.ts (the engine's types are their Static<> types); this module adds the server's own (labels,
 * groups, errors). Each serves as OpenAPI docs, as the filter of every reply (only declared fields leave the
 * server: schema-compilers.ts) and, in strict mode (tests), as a check on every reply. A new field must be
 * declared to be sent.
 */
export {
  Comparison as CompareOut,
  Distribution as DistributionOut,
  HistoryResult as HistoryOut,
  ImportReport as ImportReportOut,
  IngestReport as IngestReportOut,
  Run as RunOut,
  SampleLine as SampleLineOut,
  SchemaDescription as SchemaOut,
  SlowPlan as SlowPlanOut,
  VersionSummary as VersionSummaryOut,
} from '../../shared/schemas/wire.ts'

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      path: Type.Optional(Type.String()),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { $id: 'Error' },
)

const IsoTime = Type.String({ description: 'ISO 8601 date-time' })
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const GroupOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    parentId: Nullable(Type.String()),
    isDefault: Type.Boolean(),
    children: Type.Array(Type.Unknown(), { description: 'subgroups, each a Group' }),
  },
  { $id: 'Group' },
)

/**
 * A label as the API answers it. `rule` and `schedule` pass whole (they were validated when written; their shapes
 * are the request schemas'): `Type.Unsafe` gives them their static types without making the reply filter walk a
 * rule's unions at every label of a list.
 */
export const LabelOut = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    displayName: Type.String(),
    groupId: Type.String(),
    dataType: Type.String(),
    labelType: Type.String(),
    schedule: Type.Unsafe<Schedule>(Type.Unknown()),
    enabled: Type.Boolean(),
    description: Type.String(),
    rule: Type.Unsafe<Rule>(Type.Unknown()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    nameConflict: Type.Optional(Type.Boolean()),
    lastRun: Nullable(Run),
    nextRunAt: Nullable(IsoTime),
  },
  { $id: 'Label' },
)

/** The error statuses a route may answer, for its `response` map. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([401, ...statuses].map((s) => [s, ErrorBody]))
}
