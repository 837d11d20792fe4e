import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { LabelsError } from '../../shared/errors.ts'
import { FailureLimiter } from '../auth/failure-limiter.ts'
import { roleAllows } from '../auth/roles.ts'
import type { TokenRegistry } from '../auth/tokens.ts'
import { isApiPath, requestPath } from '../http/request-path.ts'
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
 *
 * The check is decided by the route the router chose, never by the URL string: the router
 * matches the percent-decoded path, so `/%61pi/labels` is `/api/labels`. Every route whose
 * pattern is under /api gets the check as its own first onRequest hook when it is declared
 * (onRoute), so no /api route can exist without it, whatever the spelling of the request.
 * Requests that match no route are checked by the decoded path, so an unknown /api path
 * answers 401 before it answers 404.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { tokens: TokenRegistry; failuresPerMinute?: number }) {
    app.decorateRequest('operator', null)
    const failures = new FailureLimiter({ maxPerWindow: opts.failuresPerMinute ?? 30 })
    const audit = (entry: Parameters<typeof app.audit.append>[0]) => void app.audit.append(entry).catch((err: unknown) => app.log.error({ err }, 'audit append failed'))

    /**
     * A valid token always passes (operators behind one NAT with a flooding client keep
     * working); failures are audited once per address and window, then summarised, and past
     * the limit answered 429 without any audit write.
     */
    const authenticate = async (req: FastifyRequest, reply: FastifyReply, target: string): Promise<void> => {
      const token = presentedToken(req)
      const operator = opts.tokens.authenticate(token)
      if (operator) {
        req.operator = operator
        return
      }
      const verdict = failures.fail(req.ip)
      if (verdict.summary) audit({ actor: null, role: null, action: 'auth.failed.summary', details: verdict.summary })
      if (verdict.limitedFor !== null) {
        void reply.header('retry-after', String(verdict.limitedFor))
        throw new LabelsError('too_many_requests', `too many failed logins from this address; retry in ${verdict.limitedFor} s`)
      }
      if (verdict.audit) audit({ actor: null, role: null, action: 'auth.failed', target, details: { reason: token === undefined ? 'no token' : 'bad token', ip: req.ip } })
      throw new LabelsError('unauthorized', token === undefined ? 'a token is required: Authorization: Bearer TOKEN' : 'the token is not valid')
    }
    app.addHook('onClose', async () => {
      for (const summary of failures.drain()) await app.audit.append({ actor: null, role: null, action: 'auth.failed.summary', details: summary }).catch(() => {})
    })

    const routeCheck: onRequestHookHandler = async function (req, reply) {
      await authenticate(req, reply, req.routeOptions.url ?? requestPath(req))
      const need = req.routeOptions.config.role ?? 'admin'
      const operator = req.operator!
      if (!roleAllows(operator.role, need)) throw new LabelsError('forbidden', `this needs the ${need} role; ${operator.name} is ${operator.role}`)
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      if (!isApiPath(route.url) || (route.config as { public?: boolean } | undefined)?.public) return
      const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [routeCheck, ...own]
    })

    // Only requests that matched no route: a matched route carries routeCheck itself.
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.url !== undefined || !isApiPath(requestPath(req))) return
      await authenticate(req, reply, requestPath(req))
    })
  },
  { name: 'auth', dependencies: ['audit'] },
)
