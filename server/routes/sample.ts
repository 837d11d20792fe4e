import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { SAMPLE_DEFAULT_USERS, SAMPLE_MAX_USERS } from '../../engine/read/sample.ts'
import { sampleNdjson } from '../../engine/read/sample-wire.ts'
import { sendStream } from '../http/body.ts'
import { errors, SampleLineOut } from '../http/wire-schemas.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

const DEFAULT_SEED = 1

/**
 * GET /api/data/sample: a deterministic sample of real customers with all their events, for
 * the browser's rule preview (docs/api.md#data-sample). Editor role, not viewer: it hands out raw customer
 * data, and editors are the operators who write (and so preview) rules. Audited as an export.
 */
export default async function sampleRoutes(fastify: FastifyInstance) {
  const app = typed(fastify)
  app.get(
    '/api/data/sample',
    {
      config: { role: 'editor', audit: 'export.sample' },
      schema: {
        summary: `A sample of customers and all their events (NDJSON: a meta line, then user lines, then event lines in ingestion order; user and event lines are ingestion records). Editor.`,
        querystring: Type.Object({
          users: Type.Optional(Type.Integer({ minimum: 1, maximum: SAMPLE_MAX_USERS, default: SAMPLE_DEFAULT_USERS })),
          seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 })),
        }),
        produces: ['application/x-ndjson'],
        response: {
          200: {
            description: 'NDJSON, one SampleLine per line',
            content: { 'application/x-ndjson': { schema: SampleLineOut } },
          },
          ...errors(400, 403),
        },
      },
    },
    async (req, reply) => {
      const q = req.query
      const seed = q.seed ?? DEFAULT_SEED
      const sample = await app.engine.sample({ users: q.users ?? SAMPLE_DEFAULT_USERS, seed })
      req.auditDetails = { users: sample.users.length, events: sample.events.length, seed }
      reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store')
      return sendStream(reply, Readable.from(sampleNdjson(sample, { seed, tz: app.tz })))
    },
  )
}
