import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { DataType } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { DistributionOut, errors } from '../http/wire-schemas.ts'
import { DistributionQueryIn, toDistributionQuery } from './distribution.ts'
import { parseAsOf } from './label-helpers.ts'
import '../types.ts'

const PreviewBody = Type.Object(
  { dataType: DataType, rule: Rule, asOf: Type.Optional(Type.String({ maxLength: 40 })), query: Type.Optional(Type.Omit(DistributionQueryIn, ['format'])) },
  { additionalProperties: false },
)

/** POST /api/preview — evaluate an unsaved rule; nothing is stored. */
export default async function previewRoutes(app: FastifyInstance) {
  app.post(
    '/api/preview',
    {
      config: { role: 'editor' },
      schema: { summary: 'Distribution of an unsaved rule (nothing stored; time-limited)', body: PreviewBody, response: { 200: DistributionOut, ...errors(400, 403, 422, 504) } },
    },
    async (req) => {
      const body = req.body as { dataType: DataType; rule: Rule; asOf?: string; query?: Parameters<typeof toDistributionQuery>[0] }
      const def = { dataType: body.dataType, rule: body.rule }
      await app.engine.validateDefinition(def)
      const asOf = parseAsOf(body.asOf, '/body/asOf')
      return app.engine.preview(def, {
        tz: app.tz,
        timeoutMs: app.limits.previewTimeoutMs,
        ...(asOf ? { asOf } : {}),
        ...(body.query ? { query: toDistributionQuery(body.query) } : {}),
      })
    },
  )
}
