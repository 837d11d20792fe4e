import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { notFound } from '../../shared/errors.ts'
import { errors, RunOut } from '../http/wire-schemas.ts'
import '../types.ts'

/** GET /api/runs/:runId. */
export default async function runRoutes(app: FastifyInstance) {
  app.get(
    '/api/runs/:runId',
    {
      config: { role: 'viewer' },
      schema: { summary: 'One run', params: Type.Object({ runId: Type.String({ minLength: 1, maxLength: 64 }) }), response: { 200: RunOut, ...errors(403, 404) } },
    },
    async (req) => {
      const { runId } = req.params as { runId: string }
      const run = await app.engine.getRun(runId)
      if (!run) throw notFound(`no run "${runId}"`, '/params/runId')
      return run
    },
  )
}
