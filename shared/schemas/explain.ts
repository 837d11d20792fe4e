import { Type, type Static, type TSchema } from 'typebox'
import { DataType } from './label.ts'
import { RuleMethod } from './rule.ts'

/**
 * The explanation of one customer's value (GET /api/labels/:label/explain/:userId,
 * docs/api.md#explain-a-customers-value): one schema for the route's response and, through
 * Static<>, the engine's and the web app's types. Structured-clonable; every line also carries its
 * text in operator words (engine/read/explain-words.ts), which the web app re-renders with the
 * browser's number and date formats.
 */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

/** A property or attribute value (dates as ISO instants); null: not set. */
export const ExplainScalar = Nullable(Type.Union([Type.String(), Type.Number(), Type.Boolean()]))
export type ExplainScalar = Static<typeof ExplainScalar>

/** A label value as the API gives it (dates as ISO instants); null: no value (not covered). */
export const ExplainValue = Nullable(
  Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Type.String())]),
)
export type ExplainValue = Static<typeof ExplainValue>

const Instant = Type.String({ description: 'an ISO instant' })

/** The customer's events a measure reads: its event, filters and window as of the explanation's asOf. */
export const ExplainEvents = Type.Object({
  event: Type.String(),
  scope: Type.String({
    description: 'the event, its filters and window in words: "purchase where amount ≥ 10 in the last 30 days"',
  }),
  from: Nullable(Type.String({ description: 'window start (null: all time)' })),
  to: Type.String({ description: "window end, exclusive: the asOf, or a {from,to} window's end when earlier" }),
  count: Type.Integer({ description: "the customer's matching events" }),
  first: Nullable(Type.String({ description: 'time of the earliest matching event (null without events)' })),
  last: Nullable(Type.String({ description: 'time of the latest matching event (null without events)' })),
  recent: Type.Array(Type.Object({ time: Instant, eventId: Nullable(Type.String()) }), {
    description: 'the latest matching events, newest first (up to 5)',
  }),
})
export type ExplainEvents = Static<typeof ExplainEvents>

/** A property's most frequent values among the matching events (up to 10) and how many distinct values there are. */
export const ExplainTopValues = Type.Object({
  property: Type.String(),
  values: Type.Array(Type.Object({ value: ExplainScalar, events: Type.Integer() })),
  distinct: Type.Integer(),
})
export type ExplainTopValues = Static<typeof ExplainTopValues>

const Path = Type.String({ description: 'JSON path of the condition in the rule, e.g. /rule/values/0/when/all/1' })

export const ExplainCondition = Type.Cyclic(
  {
    ExplainCondition: Type.Union([
      Type.Object({
        kind: Type.Literal('attribute'),
        path: Path,
        attribute: Type.String(),
        op: Type.String(),
        value: Type.Optional(Type.Unknown()),
        actual: Type.Ref('ExplainScalar'),
        result: Type.Boolean(),
        text: Type.String(),
      }),
      Type.Object({
        kind: Type.Literal('behaviour'),
        path: Path,
        event: Type.String(),
        measure: Type.String({ description: 'the measure in words: "count", "sum(amount)"' }),
        op: Type.String(),
        value: Type.Union([Type.Number(), Type.Tuple([Type.Number(), Type.Number()])]),
        measured: Nullable(
          Type.Number({
            description: "the customer's measured value as the rule compares it (additive measures 0 without events)",
          }),
        ),
        result: Type.Boolean(),
        text: Type.String(),
        events: Type.Ref('ExplainEvents'),
      }),
      Type.Object({
        kind: Type.Union([Type.Literal('all'), Type.Literal('any')]),
        path: Path,
        result: Type.Boolean(),
        text: Type.String(),
        items: Type.Array(Type.Ref('ExplainCondition')),
      }),
      Type.Object({
        kind: Type.Literal('not'),
        path: Path,
        result: Type.Boolean(),
        text: Type.String(),
        item: Type.Ref('ExplainCondition'),
      }),
    ]),
    ExplainScalar,
    ExplainEvents,
  },
  'ExplainCondition',
)
export type ExplainCondition = Static<typeof ExplainCondition>

export const ExplainReason = Type.Union([
  Type.Object({
    method: Type.Literal('custom'),
    layers: Type.Array(
      Type.Object({ index: Type.Integer(), value: ExplainValue, matched: Type.Boolean(), condition: ExplainCondition }),
      { description: 'every layer in order with its condition; the first whose condition holds gives the value' },
    ),
    matchedLayer: Nullable(Type.Integer({ description: 'the layer that gave the value (null: none matched)' })),
    otherwise: ExplainValue,
  }),
  Type.Object({
    method: Type.Literal('metric'),
    measure: Type.String(),
    measured: Nullable(Type.Number()),
    events: ExplainEvents,
    top: Nullable(ExplainTopValues),
  }),
  Type.Object({
    method: Type.Literal('distribution'),
    measure: Type.String(),
    measured: Nullable(Type.Number()),
    bucket: Nullable(
      Type.Object(
        { name: Type.String(), from: Nullable(Type.Number()), to: Nullable(Type.Number()) },
        { description: 'the interval the measure falls in, with its bounds (null: open-ended)' },
      ),
    ),
    boundaries: Type.Array(Type.Number()),
    names: Type.Array(Type.String()),
    events: ExplainEvents,
    top: Nullable(ExplainTopValues),
  }),
  Type.Object({
    method: Type.Literal('first_last'),
    which: Type.Union([Type.Literal('first'), Type.Literal('last')]),
    property: Type.String(),
    picked: Nullable(
      Type.Object(
        { time: Instant, value: ExplainScalar, eventId: Nullable(Type.String()) },
        { description: 'the event that gave the value (null: no matching event with the property set)' },
      ),
    ),
    events: ExplainEvents,
    top: Nullable(ExplainTopValues),
  }),
  Type.Object({
    method: Type.Literal('preference'),
    property: Type.String(),
    by: Type.String({ description: 'the ranking measure in words' }),
    top: Type.Integer(),
    ranking: Type.Array(
      Type.Object({
        value: ExplainScalar,
        measure: Nullable(Type.Number()),
        events: Type.Integer(),
        rank: Type.Integer(),
        chosen: Type.Boolean(),
      }),
      { description: 'values ranked as the rule ranks them (up to max(top, 10)); the first `top` make the value' },
    ),
    events: ExplainEvents,
  }),
  Type.Object({
    method: Type.Literal('import'),
    source: Nullable(
      Type.Object(
        { runId: Type.String(), trigger: Type.String(), at: Nullable(Type.String()) },
        { description: 'the run whose results hold the value (an import, or a recalculation that kept them)' },
      ),
    ),
    imports: Type.Array(
      Type.Object({ runId: Type.String(), at: Nullable(Type.String()), coveredUsers: Nullable(Type.Integer()) }),
      { description: "the label's latest successful imports, newest first (a merge keeps values of earlier ones)" },
    ),
  }),
])
export type ExplainReason = Static<typeof ExplainReason>

export const Explanation = Type.Object({
  labelId: Type.String(),
  userId: Type.String(),
  method: RuleMethod,
  dataType: DataType,
  run: Nullable(
    Type.Object(
      { id: Type.String(), trigger: Type.String(), asOf: Instant, finishedAt: Nullable(Type.String()) },
      { description: 'the run whose results are stored (null: the label has no successful run yet)' },
    ),
  ),
  asOf: Type.String({ description: "the instant explained: the run's asOf, or now without a run" }),
  stored: ExplainValue,
  computed: ExplainValue,
  agrees: Type.Boolean({
    description: "stored equals computed (always, unless the customer's data changed after the run)",
  }),
  definitionChanged: Type.Boolean({
    description: "the label's rule was edited after the run: the explanation follows the run's rule",
  }),
  newerEvents: Type.Array(Type.Object({ event: Type.String(), count: Type.Integer(), last: Nullable(Type.String()) }), {
    description: "the customer's events at or after asOf in the events the rule reads: data the run could not count",
  }),
  summary: Type.String({ description: 'one line: the value and the main reason' }),
  notes: Type.Array(Type.String(), {
    description: 'notes an operator should read first (stale results, edited rule, no run)',
  }),
  reason: ExplainReason,
})
export type Explanation = Static<typeof Explanation>
