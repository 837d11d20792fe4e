import { Type, type Static, type TSchema } from 'typebox'
import { incrementalLimits } from '../limits.ts'

/**
 * The shapes the HTTP API answers with (docs/api.md#routes), declared once as TypeBox schemas.
 * The engine's result types (engine/api.ts) are their `Static<>` types, and the routes use the
 * schemas as their `response` (server/http/wire-schemas.ts): the OpenAPI document, the reply
 * filter (only declared fields leave the server) and the strict reply check of the tests all
 * read the same declaration. A field must be declared here to be sent.
 *
 * Schemas with an `$id` are emitted once in the OpenAPI document, under components/schemas,
 * and referenced from every route that uses them.
 */

const IsoTime = Type.String({ description: 'ISO 8601 date-time' })
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const RunTrigger = Type.Union([
  Type.Literal('manual'),
  Type.Literal('schedule'),
  Type.Literal('create'),
  Type.Literal('update'),
  Type.Literal('catchup'),
  Type.Literal('import'),
])
export type RunTrigger = Static<typeof RunTrigger>

export const RunStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
])
export type RunStatus = Static<typeof RunStatus>

const ms = (description: string) => Type.Number({ minimum: 0, description })

/** The parts of a calculation (engine/calc/run-clock.ts). */
export const RunPhase = Type.Union([
  Type.Literal('prepare'),
  Type.Literal('collect'),
  Type.Literal('compute'),
  Type.Literal('history'),
  Type.Literal('summary'),
])
export type RunPhase = Static<typeof RunPhase>

/**
 * Why a succeeded calculation computed every customer rather than only the changed ones
 * (docs/api.md#runs; engine/calc/incremental.ts).
 */
export const FullRunReason = Type.Union(
  [
    Type.Literal('first'),
    Type.Literal('rule'),
    Type.Literal('stale'),
    Type.Literal('slower'),
    Type.Literal('many'),
    Type.Literal('off'),
  ],
  {
    description: `first: no results to start from (the first run, or results from a file or an older engine); rule: the rule, data type or time zone differs from the current results'; stale: the current results are older than the change log keeps (${incrementalLimits.changesKeptDays} days); slower: the label's last restricted run took longer than its last full one; many: more than ${Math.round(incrementalLimits.maxShare * 100)}% of the customers changed, or a table the rule reads was emptied; off: incremental runs do not apply (LABELS_INCREMENTAL=off, LABELS_RESULT_WRITES=swap, Citus)`,
  },
)
export type FullRunReason = Static<typeof FullRunReason>

/** A succeeded calculation's time per phase, in milliseconds (docs/api.md#runs). */
export const RunTimings = Type.Object({
  prepareMs: ms('compiling the rule, the data snapshot, the base of an incremental run'),
  collectMs: ms('an incremental run: finding the customers whose data or rule windows changed'),
  computeMs: ms('computing the values and writing them'),
  historyMs: ms("the day's history snapshot"),
  summaryMs: ms('swapping the results in and their summary'),
})
export type RunTimings = Static<typeof RunTimings>

/** A statement of a run that took far longer than in the label's previous run (docs/api.md#runs). */
export const SlowStatement = Type.Object({
  phase: RunPhase,
  ms: ms("the statement's time"),
  usualMs: ms("its phase's time in the label's previous run of the same kind"),
})
export type SlowStatement = Static<typeof SlowStatement>

/** GET /api/runs/:runId/plan: the slow statement with its text and plan. */
export const SlowPlan = Type.Object({
  phase: RunPhase,
  ms: Type.Number(),
  usualMs: Type.Number(),
  statement: Type.String({ description: 'the SQL, its values as $n parameters' }),
  plan: Nullable(
    Type.String({
      description:
        "EXPLAIN's text, asked for in the run's transaction straight after the statement; null for a statement EXPLAIN does not take",
    }),
  ),
})
export type SlowPlan = Static<typeof SlowPlan>

/** A calculation of a label (docs/api.md#runs). Times are ISO strings. */
export const Run = Type.Object(
  {
    id: Type.String(),
    labelId: Type.String(),
    status: RunStatus,
    trigger: RunTrigger,
    asOf: IsoTime,
    createdAt: IsoTime,
    startedAt: Nullable(IsoTime),
    finishedAt: Nullable(IsoTime),
    totalUsers: Nullable(Type.Number()),
    coveredUsers: Nullable(Type.Number()),
    error: Type.Optional(Type.String()),
    resultWrites: Type.Optional(
      Type.Union([Type.Literal('swap'), Type.Literal('changed')], {
        description:
          'how a succeeded calculation wrote its results: swap (a new table) or changed (only the changed customers, in place)',
      }),
    ),
    changedUsers: Type.Optional(
      Nullable(
        Type.Number({
          description:
            'customers whose value this run changed (gained, lost or different); null when not counted (LABELS_RESULT_WRITES=swap)',
        }),
      ),
    ),
    recomputedUsers: Type.Optional(
      Nullable(
        Type.Number({
          description:
            'an incremental run: the customers it computed (those whose data or rule windows changed since the run before; every other customer kept its value); null when it computed every customer (LABELS_INCREMENTAL)',
        }),
      ),
    ),
    fullRunReason: Type.Optional(FullRunReason),
    timings: Type.Optional(RunTimings),
    slow: Type.Optional(SlowStatement),
  },
  { $id: 'Run' },
)
export type Run = Static<typeof Run>

/** GET /api/data/schema. */
export const SchemaDescription = Type.Object({
  userAttributes: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
  events: Type.Array(
    Type.Object({
      name: Type.String(),
      properties: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
    }),
  ),
})
export type SchemaDescription = Static<typeof SchemaDescription>

const RowError = Type.Object({ row: Type.Number(), reason: Type.String() })

/** The answer of an ingestion (docs/api.md#ingestion). */
export const IngestReport = Type.Object({
  stored: Type.Number({ description: 'rows stored (users: inserted + updated)' }),
  inserted: Type.Number(),
  updated: Type.Number(),
  duplicates: Type.Number({ description: 'events skipped because their event_id was already stored' }),
  errors: Type.Array(RowError, {
    description: 'invalid rows: 1-based data row numbers (header excluded) and reasons; the first 100 only',
  }),
  committed: Type.Boolean({ description: 'false when errors made the whole request store nothing' }),
  invalidRows: Type.Optional(Type.Number({ description: 'every bad row; errors lists the first 100' })),
})
export type IngestReport = Static<typeof IngestReport>

/** The answer of an import of method values. */
export const ImportReport = Type.Object({
  runId: Type.String(),
  imported: Type.Number(),
  errors: Type.Array(RowError, { description: 'the first bad rows (at most 100)' }),
  committed: Type.Boolean(),
  invalidRows: Type.Optional(Type.Number({ description: 'every bad row; errors lists the first ones' })),
})
export type ImportReport = Static<typeof ImportReport>

export const DistributionItem = Type.Object({
  value: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]),
  from: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  to: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  users: Type.Number(),
  proportion: Type.Number(),
})
export type DistributionItem = Static<typeof DistributionItem>

/** A label's value distribution (docs/api.md#distribution); `runId`/`asOf` null: no results yet. */
export const Distribution = Type.Object(
  {
    labelId: Nullable(Type.String()),
    runId: Nullable(Type.String()),
    asOf: Nullable(IsoTime),
    totalUsers: Type.Number(),
    coveredUsers: Type.Number(),
    items: Type.Array(DistributionItem),
  },
  { $id: 'Distribution' },
)
export type Distribution = Static<typeof Distribution>

/** Daily snapshots of a label's distribution. */
export const HistoryResult = Type.Object({
  labelId: Type.String(),
  items: Type.Array(
    Type.Object({
      date: Type.String(),
      // Typed as the distribution's: a boolean label's true/false, a number label's exact value as a
      // number; intervals, strings, collection elements and date buckets as text (shared/history-values.ts).
      value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
      users: Type.Number(),
      proportion: Type.Number(),
    }),
  ),
})
export type HistoryResult = Static<typeof HistoryResult>

/**
 * The fixed buckets of a number or date label's history (docs/api.md#history-buckets): number
 * intervals `(-∞,b0) [b0,b1) … [bn,+∞)` at `boundaries`, or date buckets per `granularity`.
 * `source`: fixed from the first result with values, or set by an operator.
 */
export const HistoryBuckets = Type.Object(
  {
    labelId: Type.String(),
    dataType: Type.Union([Type.Literal('number'), Type.Literal('date')]),
    boundaries: Type.Optional(Type.Array(Type.Number())),
    granularity: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')])),
    source: Type.Union([Type.Literal('first_run'), Type.Literal('operator')]),
    updatedAt: IsoTime,
  },
  { $id: 'HistoryBuckets' },
)
export type HistoryBuckets = Static<typeof HistoryBuckets>

/** PUT …/history/buckets: boundaries for a number label, granularity for a date label. */
export const HistoryBucketsInput = Type.Object(
  {
    boundaries: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: 49 })),
    granularity: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')])),
  },
  { additionalProperties: false },
)
export type HistoryBucketsInput = Static<typeof HistoryBucketsInput>

/**
 * GET …/history/buckets: the buckets (null: not fixed yet) and the stored days in other buckets
 * (kept as they were when the buckets changed and the data did not allow re-counting them).
 */
export const HistoryBucketsState = Type.Object({
  labelId: Type.String(),
  buckets: Nullable(HistoryBuckets),
  otherDays: Type.Array(Type.String()),
})
export type HistoryBucketsState = Static<typeof HistoryBucketsState>

/** A backfill's state: a run's, or cancelled (DELETE /api/backfills/:id). */
export const BackfillStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
])
export type BackfillStatus = Static<typeof BackfillStatus>

/**
 * A backfill (docs/api.md#backfill): the label's history calculated for `days` past days, as of
 * the end of each, newest first (`to` is yesterday in the workspace time zone, `from` the oldest
 * day). `done` days are written (the newest first); status as a run's, or cancelled. Stored in the
 * database (engine/calc/backfill-jobs.ts): readable from any process and after a restart.
 */
export const Backfill = Type.Object(
  {
    id: Type.String(),
    labelId: Type.String(),
    days: Type.Integer(),
    from: Type.String(),
    to: Type.String(),
    done: Type.Integer(),
    status: BackfillStatus,
    createdAt: IsoTime,
    startedAt: Nullable(IsoTime),
    finishedAt: Nullable(IsoTime),
    error: Type.Optional(Type.String()),
  },
  { $id: 'Backfill' },
)
export type Backfill = Static<typeof Backfill>

/** PUT …/history/buckets: the new buckets, the days re-counted in them and the days kept as they were, with why. */
export const HistoryBucketsChange = Type.Object({
  buckets: HistoryBuckets,
  rebucketed: Type.Array(Type.String()),
  kept: Type.Array(Type.Object({ date: Type.String(), reason: Type.String() })),
})
export type HistoryBucketsChange = Static<typeof HistoryBucketsChange>

/**
 * One page of a label's audience. `nextCursor` is an opaque token (`<uid>.<runId>`) pinning the
 * next page to this page's run; `runId` is the run whose results the page holds (null: none).
 */
export const AudiencePage = Type.Object({
  users: Type.Array(Type.Object({ userId: Type.String(), value: Type.Unknown() })),
  nextCursor: Nullable(Type.String()),
  runId: Nullable(Type.String()),
})
export type AudiencePage = Static<typeof AudiencePage>

/** A JSON value of an attribute or property (dates as ISO strings). */
export const SampleValue = Type.Union([Type.String(), Type.Number(), Type.Boolean()])
export type SampleValue = Static<typeof SampleValue>
const SampleValues = Type.Record(Type.String(), SampleValue)

/** A user record (docs/api.md#ingestion-records). */
export const SampleUser = Type.Object({ user_id: Type.String(), properties: SampleValues })
export type SampleUser = Static<typeof SampleUser>

/** An event record (docs/api.md#ingestion-records); `time` is an ISO string. */
export const SampleEvent = Type.Object({
  user_id: Type.String(),
  event: Type.String(),
  time: IsoTime,
  event_id: Type.Optional(Type.String()),
  properties: SampleValues,
})
export type SampleEvent = Static<typeof SampleEvent>

/** One line of GET /api/data/sample (NDJSON): the meta line, then users, then events (engine/read/sample-wire.ts). */
export const SampleLine = Type.Union([
  Type.Object({
    type: Type.Literal('meta'),
    totalUsers: Type.Number(),
    sampleUsers: Type.Number(),
    sampleEvents: Type.Number(),
    seed: Type.Number(),
    tz: Type.String(),
    schema: SchemaDescription,
  }),
  Type.Object({ type: Type.Literal('user'), ...SampleUser.properties }),
  Type.Object({ type: Type.Literal('event'), ...SampleEvent.properties }),
])

export const VersionKind = Type.Union([
  Type.Literal('baseline'),
  Type.Literal('created'),
  Type.Literal('updated'),
  Type.Literal('restored'),
  Type.Literal('deleted'),
])
/** How a version came to be. `baseline`: a label older than its history, as it was when the history began. */
export type VersionKind = Static<typeof VersionKind>

/** A readable change of one field (shared/rule-diff.ts DefinitionChange). */
export const DefinitionChangeOut = Type.Object({
  field: Type.String(),
  path: Type.String(),
  from: Type.Optional(Type.Unknown()),
  to: Type.Optional(Type.Unknown()),
  text: Type.String(),
})

/** A version in a label's list: who, when, how, what changed. */
export const VersionSummary = Type.Object({
  n: Type.Integer(),
  labelId: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  kind: VersionKind,
  via: Type.String({ description: 'origin of the change: rest (API), remote (a browser), server, baseline…' }),
  restoredFrom: Type.Optional(
    Type.Integer({ description: 'kind restored: the earlier version this definition equals' }),
  ),
  changes: Type.Array(DefinitionChangeOut, {
    description: 'readable field-by-field diff against the previous version',
  }),
})

/**
 * A value of a transition: the distribution item's value (bucket label for numbers and dates), a collection's sorted
 * elements, or null for "no value".
 */
export const TransitionValue = Type.Union([
  Type.String(),
  Type.Number(),
  Type.Boolean(),
  Type.Array(Type.String()),
  Type.Null(),
])
export type TransitionValue = Static<typeof TransitionValue>

export const Transition = Type.Object({ from: TransitionValue, to: TransitionValue, users: Type.Integer() })
export type Transition = Static<typeof Transition>

/** Before/after of a rule change: current results beside a draft's, and who moves where. */
export const Comparison = Type.Object({
  labelId: Type.String(),
  current: Distribution,
  draft: Distribution,
  transitions: Type.Array(Transition, {
    description: 'users per (current value → draft value), sorted by users; at most maxTransitions (default 200)',
  }),
  otherTransitions: Type.Object(
    { count: Type.Integer(), users: Type.Integer() },
    { description: 'transitions left out of the list beyond the maximum, and their users' },
  ),
  changedUsers: Type.Integer(),
  unchangedUsers: Type.Integer(),
})
export type Comparison = Static<typeof Comparison>
