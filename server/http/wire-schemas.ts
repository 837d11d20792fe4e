import { Type } from 'typebox'

/**
 * Response shapes of the routes (docs/api.md#routes), declared once so they serve as OpenAPI docs, as the filter of
 * every reply (only declared fields leave the server: schema-compilers.ts) and (in strict
 * mode, i.e. tests) as a check on every reply. A new field must be declared here to be sent.
 */

export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    path: Type.Optional(Type.String()),
    details: Type.Optional(Type.Unknown()),
  }),
})

const IsoTime = Type.String()
const Nullable = <T extends import('typebox').TSchema>(t: T) => Type.Union([t, Type.Null()])

export const RunOut = Type.Object({
  id: Type.String(),
  labelId: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
  ]),
  trigger: Type.String(),
  asOf: IsoTime,
  createdAt: Type.Optional(IsoTime),
  startedAt: Nullable(IsoTime),
  finishedAt: Nullable(IsoTime),
  totalUsers: Nullable(Type.Number()),
  coveredUsers: Nullable(Type.Number()),
  error: Type.Optional(Type.String()),
})

export const DistributionOut = Type.Object({
  labelId: Nullable(Type.String()),
  runId: Nullable(Type.String()),
  asOf: Nullable(IsoTime),
  totalUsers: Type.Number(),
  coveredUsers: Type.Number(),
  items: Type.Array(
    Type.Object({
      value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
      from: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Null()])),
      to: Type.Optional(Type.Union([Type.Number(), Type.String(), Type.Null()])),
      users: Type.Number(),
      proportion: Type.Number(),
    }),
  ),
})

export const HistoryOut = Type.Object({
  labelId: Type.String(),
  items: Type.Array(
    Type.Object({ date: Type.String(), value: Type.Unknown(), users: Type.Number(), proportion: Type.Number() }),
  ),
})

export const GroupOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  parentId: Nullable(Type.String()),
  isDefault: Type.Boolean(),
  children: Type.Array(Type.Unknown()),
})

export const LabelOut = Type.Object({
  id: Type.String(),
  name: Type.String(),
  displayName: Type.String(),
  groupId: Type.String(),
  dataType: Type.String(),
  labelType: Type.String(),
  schedule: Type.Unknown(),
  enabled: Type.Boolean(),
  description: Type.String(),
  rule: Type.Unknown(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  nameConflict: Type.Optional(Type.Boolean()),
  lastRun: Nullable(RunOut),
  nextRunAt: Nullable(IsoTime),
})

export const IngestReportOut = Type.Object({
  stored: Type.Number(),
  inserted: Type.Number(),
  updated: Type.Number(),
  duplicates: Type.Number(),
  errors: Type.Array(Type.Object({ row: Type.Number(), reason: Type.String() })),
  committed: Type.Boolean(),
  invalidRows: Type.Optional(Type.Number({ description: 'every bad row; errors lists the first 100' })),
})

export const ImportReportOut = Type.Object({
  runId: Type.String(),
  imported: Type.Number(),
  errors: Type.Array(Type.Object({ row: Type.Number(), reason: Type.String() })),
  committed: Type.Boolean(),
  invalidRows: Type.Optional(Type.Number({ description: 'every bad row; errors lists the first ones' })),
})

/** The error statuses a route may answer, for its `response` map. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([401, ...statuses].map((s) => [s, ErrorBody]))
}

const SampleValues = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))

/** One line of GET /api/data/sample (NDJSON): the meta line, then users, then events (engine/read/sample-wire.ts). */
export const SampleLineOut = Type.Union([
  Type.Object({
    type: Type.Literal('meta'),
    totalUsers: Type.Number(),
    sampleUsers: Type.Number(),
    sampleEvents: Type.Number(),
    seed: Type.Number(),
    tz: Type.String(),
    schema: Type.Unknown(),
  }),
  Type.Object({ type: Type.Literal('user'), user_id: Type.String(), properties: SampleValues }),
  Type.Object({
    type: Type.Literal('event'),
    user_id: Type.String(),
    event: Type.String(),
    time: IsoTime,
    event_id: Type.Optional(Type.String()),
    properties: SampleValues,
  }),
])
