import type { FastifyInstance } from 'fastify'
import { Type, type TSchema } from 'typebox'
import { errors } from '../http/wire-schemas.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import { typed } from '../http/typed.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import '../types.ts'
import { idMaxLength } from '../../shared/limits.ts'

/** Response schema of GET /api/labels/:label/explain/:userId (engine/read/explain-types.ts). */

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])
const Scalar = Nullable(Type.Union([Type.String(), Type.Number(), Type.Boolean()]))
const Value = Nullable(Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Array(Type.String())]))

const Events = Type.Object({
  event: Type.String(),
  scope: Type.String({ description: 'the event, its filters and window in words' }),
  from: Nullable(Type.String({ description: 'window start (null: all time)' })),
  to: Type.String({ description: 'window end, exclusive: the asOf' }),
  count: Type.Integer({ description: "the customer's matching events" }),
  first: Nullable(Type.String()),
  last: Nullable(Type.String()),
  recent: Type.Array(Type.Object({ time: Type.String(), eventId: Nullable(Type.String()) }), {
    description: 'the latest matching events, newest first (up to 5)',
  }),
})

const TopValues = Nullable(
  Type.Object({
    property: Type.String(),
    values: Type.Array(Type.Object({ value: Scalar, events: Type.Integer() })),
    distinct: Type.Integer(),
  }),
)

const Condition = Type.Cyclic(
  {
    ExplainCondition: Type.Union([
      Type.Object({
        kind: Type.Literal('attribute'),
        path: Type.String(),
        attribute: Type.String(),
        op: Type.String(),
        value: Type.Optional(Type.Unknown()),
        actual: Scalar,
        result: Type.Boolean(),
        text: Type.String(),
      }),
      Type.Object({
        kind: Type.Literal('behaviour'),
        path: Type.String(),
        event: Type.String(),
        measure: Type.String(),
        op: Type.String(),
        value: Type.Unknown(),
        measured: Nullable(Type.Number()),
        result: Type.Boolean(),
        text: Type.String(),
        events: Events,
      }),
      Type.Object({
        kind: Type.Union([Type.Literal('all'), Type.Literal('any')]),
        path: Type.String(),
        result: Type.Boolean(),
        text: Type.String(),
        items: Type.Array(Type.Ref('ExplainCondition')),
      }),
      Type.Object({
        kind: Type.Literal('not'),
        path: Type.String(),
        result: Type.Boolean(),
        text: Type.String(),
        item: Type.Ref('ExplainCondition'),
      }),
    ]),
  },
  'ExplainCondition',
)

const Reason = Type.Union([
  Type.Object({
    method: Type.Literal('custom'),
    layers: Type.Array(
      Type.Object({ index: Type.Integer(), value: Type.Unknown(), matched: Type.Boolean(), condition: Condition }),
    ),
    matchedLayer: Nullable(Type.Integer()),
    otherwise: Type.Unknown(),
  }),
  Type.Object({
    method: Type.Literal('metric'),
    measure: Type.String(),
    measured: Nullable(Type.Number()),
    events: Events,
    top: TopValues,
  }),
  Type.Object({
    method: Type.Literal('distribution'),
    measure: Type.String(),
    measured: Nullable(Type.Number()),
    bucket: Nullable(Type.Object({ name: Type.String(), from: Nullable(Type.Number()), to: Nullable(Type.Number()) })),
    boundaries: Type.Array(Type.Number()),
    names: Type.Array(Type.String()),
    events: Events,
    top: TopValues,
  }),
  Type.Object({
    method: Type.Literal('first_last'),
    which: Type.Union([Type.Literal('first'), Type.Literal('last')]),
    property: Type.String(),
    picked: Nullable(Type.Object({ time: Type.String(), value: Scalar, eventId: Nullable(Type.String()) })),
    events: Events,
    top: TopValues,
  }),
  Type.Object({
    method: Type.Literal('preference'),
    property: Type.String(),
    by: Type.String(),
    top: Type.Integer(),
    ranking: Type.Array(
      Type.Object({
        value: Scalar,
        measure: Nullable(Type.Number()),
        events: Type.Integer(),
        rank: Type.Integer(),
        chosen: Type.Boolean(),
      }),
    ),
    events: Events,
  }),
  Type.Object({
    method: Type.Literal('import'),
    source: Nullable(Type.Object({ runId: Type.String(), trigger: Type.String(), at: Nullable(Type.String()) })),
    imports: Type.Array(
      Type.Object({ runId: Type.String(), at: Nullable(Type.String()), coveredUsers: Nullable(Type.Integer()) }),
    ),
  }),
])

export const ExplanationOut = Type.Object({
  labelId: Type.String(),
  userId: Type.String(),
  method: Type.String(),
  dataType: Type.String(),
  run: Nullable(
    Type.Object({
      id: Type.String(),
      trigger: Type.String(),
      asOf: Type.String(),
      finishedAt: Nullable(Type.String()),
    }),
  ),
  asOf: Type.String({ description: "the instant explained: the run's asOf, or now without a run" }),
  stored: Value,
  computed: Value,
  agrees: Type.Boolean(),
  definitionChanged: Type.Boolean(),
  newerEvents: Type.Array(Type.Object({ event: Type.String(), count: Type.Integer(), last: Nullable(Type.String()) })),
  summary: Type.String(),
  notes: Type.Array(Type.String()),
  reason: Reason,
})

const ExplainParams = Type.Object({
  label: LabelParams.properties.label,
  userId: Type.String({ minLength: 1, maxLength: idMaxLength }),
})

/** GET /api/labels/:label/explain/:userId: one customer's value and why (docs/api.md#explain-a-customers-value). */
export default async function explainRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/labels/:label/explain/:userId',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          "One customer's value and why: the stored value beside the run's rule evaluated for this customer (they agree unless the data changed after the run), with the matched layer and each condition's measured value, or the measure and the events behind it",
        params: ExplainParams,
        response: { 200: ExplanationOut, ...errors(400, 403, 404, 503, 504) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(fastify, req.params.label)
      const definition = { dataType: label.dataType, rule: label.rule }
      // Behind a calculation on PGlite (one connection) it waits at most readWaitMs, then 503.
      return boundedRead(
        () =>
          fastify.engine.explain(label.id, req.params.userId, {
            tz: fastify.tz,
            definition,
            timeoutMs: fastify.limits.previewTimeoutMs,
          }),
        { waitMs: fastify.calc.readWaitMs, reply, what: "explaining a customer's value reads the database" },
      )
    },
  )
}
