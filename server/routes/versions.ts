import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { notFound } from '../../shared/errors.ts'
import { DataType } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { CompareOut, errors, VersionSummaryOut } from '../http/wire-schemas.ts'
import { DistributionQueryIn, toDistributionQuery } from './distribution.ts'
import { LabelParams, parseAsOf, resolveLabel } from './label-helpers.ts'
import '../types.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import { typed } from '../http/typed.ts'

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
export default async function versionRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
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
      const id = await historyLabelId(app, req.params.label)
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
      const { label, n } = req.params
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
      const label = resolveLabel(app, req.params.label)
      const body = req.body
      const def = { dataType: body.dataType ?? label.dataType, rule: body.rule }
      const asOf = parseAsOf(body.asOf, '/body/asOf', app.tz)
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
