import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { DataType } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { DistributionOut, errors } from '../http/wire-schemas.ts'
import { DistributionQueryIn, toDistributionQuery } from './distribution.ts'
import { parseAsOf } from './label-helpers.ts'
import { busyError, within } from '../calc/bounded-read.ts'
import { timeoutError } from '../../engine/calc/timeout.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

const PreviewBody = Type.Object(
  {
    dataType: DataType,
    rule: Rule,
    asOf: Type.Optional(Type.String({ maxLength: 40 })),
    query: Type.Optional(Type.Omit(DistributionQueryIn, ['format'])),
  },
  { additionalProperties: false },
)

/** POST /api/preview — evaluate an unsaved rule; nothing is stored. */
export default async function previewRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  /** Previews answered 504 whose engine work has not ended yet. */
  let overrunning = 0
  app.post(
    '/api/preview',
    {
      config: { role: 'editor' },
      schema: {
        summary: 'Distribution of an unsaved rule (nothing stored; time-limited)',
        body: PreviewBody,
        response: { 200: DistributionOut, ...errors(400, 403, 422, 503, 504) },
      },
    },
    async (req, reply) => {
      const startedAt = Date.now()
      const budget = app.limits.previewTimeoutMs
      const body = req.body
      const def = { dataType: body.dataType, rule: body.rule }
      const asOf = parseAsOf(body.asOf, '/body/asOf', app.tz)
      const query = body.query ? toDistributionQuery(body.query) : undefined
      // PGlite: one connection, and a statement can't be interrupted. Behind a calculation (or a
      // preview that overran its budget and still runs) the preview waits at most readWaitMs for
      // the database to be free (a small workspace's run takes well under a second), then is
      // refused with 503 + Retry-After; the in-browser preview works meanwhile.
      const busy = () => app.calc.calculating() || overrunning > 0
      if (app.calc.readWaitMs !== undefined && busy()) {
        const until = Date.now() + Math.min(app.calc.readWaitMs, budget / 2)
        while (busy() && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
        if (busy())
          throw busyError(reply, overrunning > 0 ? 'an earlier preview still runs on the database' : 'preview')
      }
      // The answer comes within the budget whatever the engine does (PostgreSQL also stops the
      // statements at the budget: engine/calc/timeout.ts Deadline.bound).
      const work = (async () => {
        await app.engine.validateDefinition(def)
        return app.engine.preview(def, {
          tz: app.tz,
          timeoutMs: budget,
          startedAt,
          ...(asOf ? { asOf } : {}),
          ...(query ? { query } : {}),
        })
      })()
      let late = false
      try {
        return await within(work, budget - (Date.now() - startedAt), () => {
          late = true
          return timeoutError(budget)
        })
      } finally {
        if (late) {
          overrunning++
          void work.catch(() => {}).finally(() => overrunning--)
        }
      }
    },
  )
}
