import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'

/**
 * The app with the TypeBox type provider: a route declared on it gets `req.body`, `req.params`
 * and `req.query` typed from its `schema` (their Static<> types, after validation and the
 * querystring conversion of schema-compilers.ts), and its replies checked against `response`.
 * Only types: validation and serialisation stay with schema-compilers.ts.
 *
 *   export default async function fooRoutes(fastify: FastifyInstance) {
 *     const app = typed(fastify)
 *     app.get('/api/foo/:id', { schema: { params: Type.Object({ id: Type.String() }) } }, async (req) => req.params.id)
 *   }
 */
export function typed(app: FastifyInstance) {
  return app.withTypeProvider<TypeBoxTypeProvider>()
}

export type TypedApp = ReturnType<typeof typed>
