import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { notFound } from '../../shared/errors.ts'
import { DataType } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { DistributionOut, errors } from '../http/wire-schemas.ts'
import { DistributionQueryIn, toDistributionQuery } from './distribution.ts'
import { LabelParams, parseAsOf, resolveLabel } from './label-helpers.ts'
import '../types.ts'
import { boundedRead } from '../calc/bounded-read.ts'

const Change = Type.Object({
  field: Type.String(),
  path: Type.String(),
  from: Type.Optional(Type.Unknown()),
  to: Type.Optional(Type.Unknown()),
  text: Type.String(),
})

const VersionSummaryOut = Type.Object({
  n: Type.Integer(),
  labelId: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  kind: Type.Union(['baseline', 'created', 'updated', 'restored', 'deleted'].map((k) => Type.Literal(k))),
  via: Type.String({ description: 'origin of the change: rest (API), remote (a browser), server, baseline…' }),
  restoredFrom: Type.Optional(
    Type.Integer({ description: 'kind restored: the earlier version this definition equals' }),
  ),
  changes: Type.Array(Change, { description: 'readable field-by-field diff against the previous version' }),
})

const VersionOut = Type.Intersect([
  VersionSummaryOut,
  Type.Object({ definition: Type.Unknown(), previous: Type.Union([Type.Integer(), Type.Null()]) }),
])

const CompareBody = Type.Object(
  {
    dataType: Type.Optional(DataType),
    rule: Rule,
    asOf: Type.Optional(Type.String({ maxLength: 40 })),
    query: Type.Optional(Type.Omit(DistributionQueryIn, ['format'])),
  },
  { additionalProperties: false },
)

const TransitionValue = Type.Union([
  Type.String(),
  Type.Number(),
  Type.Boolean(),
  Type.Array(Type.String()),
  Type.Null(),
])
const CompareOut = Type.Object({
  labelId: Type.String(),
  current: DistributionOut,
  draft: DistributionOut,
  transitions: Type.Array(Type.Object({ from: TransitionValue, to: TransitionValue, users: Type.Integer() })),
  otherTransitions: Type.Object({ count: Type.Integer(), users: Type.Integer() }),
  changedUsers: Type.Integer(),
  unchangedUsers: Type.Integer(),
})

/**
 * The label named by `:label` for history reads: a label of the workspace (id, else name), or
 * the id of a deleted label whose versions are kept.
 */
async function historyLabelId(app: FastifyInstance, param: string): Promise<string> {
  const label = app.workspace.findLabel(param)
  if (label) return label.id
  if ((await app.engine.labelsWithVersions([param])).length > 0) return param
  throw notFound(`no label "${param}"`, '/params/label')
}

/** Version history (GET …/versions, …/versions/:n) and before/after of a rule change (POST …/compare). */
export default async function versionRoutes(app: FastifyInstance) {
  app.get(
    '/api/labels/:label/versions',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A label's versions, newest first: who, when, what changed (also for a deleted label, by id)",
        params: LabelParams,
        response: { 200: Type.Object({ versions: Type.Array(VersionSummaryOut) }), ...errors(403, 404) },
      },
    },
    async (req) => {
      await app.versions.settled()
      const id = await historyLabelId(app, (req.params as { label: string }).label)
      return { versions: await app.engine.listVersions(id) }
    },
  )

  app.get(
    '/api/labels/:label/versions/:n',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One version with its full definition and its diff against the previous version',
        params: Type.Object({ label: LabelParams.properties.label, n: Type.Integer({ minimum: 1 }) }),
        response: { 200: VersionOut, ...errors(400, 403, 404) },
      },
    },
    async (req) => {
      await app.versions.settled()
      const { label, n } = req.params as { label: string; n: number }
      const id = await historyLabelId(app, label)
      const v = await app.engine.getVersion(id, n)
      if (!v) throw notFound(`label "${label}" has no version ${n}`, '/params/n')
      return { ...v, previous: v.n > 1 ? v.n - 1 : null }
    },
  )

  app.post(
    '/api/labels/:label/compare',
    {
      config: { role: 'editor' },
      schema: {
        summary:
          "Before/after: the label's current results beside a rule evaluated now on all customers, and how many move from each value to each other (exact; nothing stored; time-limited like a preview)",
        params: LabelParams,
        body: CompareBody,
        response: { 200: CompareOut, ...errors(400, 403, 404, 422, 503, 504) },
      },
    },
    async (req, reply) => {
      const label = resolveLabel(app, (req.params as { label: string }).label)
      const body = req.body as {
        dataType?: DataType
        rule: Rule
        asOf?: string
        query?: Parameters<typeof toDistributionQuery>[0]
      }
      const def = { dataType: body.dataType ?? label.dataType, rule: body.rule }
      const asOf = parseAsOf(body.asOf, '/body/asOf')
      const query = body.query ? toDistributionQuery(body.query) : undefined
      // Behind a calculation on PGlite (one connection) it waits at most readWaitMs, then 503.
      return boundedRead(
        async () => {
          await app.engine.validateDefinition(def)
          return app.engine.compare(label.id, def, {
            tz: app.tz,
            timeoutMs: app.limits.previewTimeoutMs,
            ...(asOf ? { asOf } : {}),
            ...(query ? { query } : {}),
          })
        },
        { waitMs: app.calc.readWaitMs, reply, what: 'before/after reads the database' },
      )
    },
  )
}
