import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { Explanation } from '../../shared/schemas/explain.ts'
import { errors } from '../http/wire-schemas.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import { typed } from '../http/typed.ts'
import { LabelParams, resolveLabel } from './label-helpers.ts'
import '../types.ts'
import { idMaxLength } from '../../shared/limits.ts'

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
        response: { 200: Explanation, ...errors(400, 403, 404, 503, 504) },
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
