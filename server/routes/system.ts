import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { errors } from '../http/wire-schemas.ts'
import '../types.ts'
import { typed } from '../http/typed.ts'

/** /api/health, /api/me, /api/audit and the OpenAPI document /api/docs. */
export default async function systemRoutes(fastify: FastifyInstance, opts: { db: 'pglite' | 'postgres' }) {
  const app = typed(fastify)
  app.get(
    '/api/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness, the database kind and the workspace time zone',
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            db: Type.Union([Type.Literal('pglite'), Type.Literal('postgres')]),
            tz: Type.String(),
          }),
        },
      },
    },
    async () => ({ status: 'ok' as const, db: opts.db, tz: app.tz }),
  )

  app.get(
    '/api/me',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The operator holding this token, and the workspace time zone (IANA) that schedules and previews use',
        response: { 200: Type.Object({ name: Type.String(), role: Type.String(), tz: Type.String() }), ...errors() },
      },
    },
    async (req) => ({ name: req.operator!.name, role: req.operator!.role, tz: app.tz }),
  )

  app.get(
    '/api/audit',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Audit log, newest first (admin)',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          action: Type.Optional(Type.String({ maxLength: 100 })),
          actor: Type.Optional(Type.String({ maxLength: 100 })),
          before: Type.Optional(Type.String({ maxLength: 40 })),
        }),
        response: {
          200: Type.Object({
            entries: Type.Array(
              Type.Object({
                at: Type.String(),
                actor: Type.Union([Type.String(), Type.Null()]),
                role: Type.Union([Type.String(), Type.Null()]),
                action: Type.String(),
                target: Type.Optional(Type.String()),
                status: Type.Optional(Type.Number()),
                details: Type.Optional(Type.Unknown()),
              }),
            ),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => {
      const q = req.query
      return { entries: await app.audit.list(q) }
    },
  )

  app.get('/api/docs', { config: { role: 'viewer' }, schema: { hide: true } }, async () => app.swagger())
}
