import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { LabelsError } from '../../shared/errors.ts'
import { roleAllows } from '../auth/roles.ts'
import type { TokenRegistry } from '../auth/tokens.ts'
import '../types.ts'

/** The presented token: `Authorization: Bearer T`, or `?token=T` on GET (exports, WebSockets). */
export function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
    return m?.[1] ?? ''
  }
  if (req.method === 'GET') {
    const q = (req.query as Record<string, unknown> | undefined)?.token
    if (typeof q === 'string') return q
  }
  return undefined
}

/**
 * Authenticates every /api request (except routes marked public) and enforces the route's
 * `config.role`; routes that forget to declare one need admin. Failed logins are audited.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { tokens: TokenRegistry }) {
    app.decorateRequest('operator', null)
    app.addHook('onRequest', async (req) => {
      if (!req.url.startsWith('/api/') && req.url !== '/api') return
      const config = req.routeOptions.config
      if (config.public) return
      const token = presentedToken(req)
      const operator = opts.tokens.authenticate(token)
      if (!operator) {
        await app.audit
          .append({ actor: null, role: null, action: 'auth.failed', target: req.routeOptions.url ?? req.url.split('?')[0], details: { reason: token === undefined ? 'no token' : 'bad token', ip: req.ip } })
          .catch(() => {})
        throw new LabelsError('unauthorized', token === undefined ? 'a token is required: Authorization: Bearer TOKEN' : 'the token is not valid')
      }
      req.operator = operator
      if (req.routeOptions.url === undefined) return // no such route: the 404 handler answers
      const need = config.role ?? 'admin'
      if (!roleAllows(operator.role, need)) throw new LabelsError('forbidden', `this needs the ${need} role; ${operator.name} is ${operator.role}`)
    })
  },
  { name: 'auth', dependencies: ['audit'] },
)
