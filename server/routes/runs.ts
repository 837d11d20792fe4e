import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { notFound } from '../../shared/errors.ts'
import { errors, RunOut, SlowPlanOut } from '../http/wire-schemas.ts'
import { boundedRead } from '../calc/bounded-read.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

/** GET /api/runs/:runId and its slow statement's plan. */
export default async function runRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/runs/:runId',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One run',
        params: Type.Object({ runId: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: RunOut, ...errors(403, 404, 503) },
      },
    },
    async (req, reply) => {
      const { runId } = req.params
      // Every status change of the run queue is in memory: a running run's status never waits for its calculation.
      const known = app.calc.run(runId)
      if (known) return known
      const run = await boundedRead(() => app.engine.getRun(runId), {
        waitMs: app.calc.readWaitMs,
        reply,
        what: 'this run is not in memory and must be read from the database',
      })
      if (!run) throw notFound(`no run "${runId}"`, '/params/runId')
      app.calc.rememberRun(run)
      return run
    },
  )
  app.get(
    '/api/runs/:runId/plan',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "A run's slow statement and its plan",
        description:
          "A succeeded calculation keeps the statement that took at least LABELS_SLOW_STATEMENT_MS (default 1 s) and ten times its phase in the label's previous run of the same kind, with its EXPLAIN (docs/api.md#runs); 404 when the run kept none.",
        params: Type.Object({ runId: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: SlowPlanOut, ...errors(403, 404, 503) },
      },
    },
    async (req, reply) => {
      const { runId } = req.params
      const plan = await boundedRead(() => app.engine.slowPlan(runId), {
        waitMs: app.calc.readWaitMs,
        reply,
        what: 'the plan is read from the database',
      })
      if (plan === undefined) throw notFound(`no run "${runId}"`, '/params/runId')
      if (plan === null) throw notFound(`run "${runId}" kept no slow statement`, '/params/runId')
      return plan
    },
  )
}
