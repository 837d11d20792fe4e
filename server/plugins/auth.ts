import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { LabelsError } from '../../shared/errors.ts'
import { tokenFromProtocols } from '../../shared/ws-protocol.ts'
import { FailureLimiter } from '../auth/failure-limiter.ts'
import { roleAllows, type Operator, type Role } from '../auth/roles.ts'
import { LinkSigner, SIG_PARAM } from '../auth/signed-links.ts'
import type { TokenRegistry } from '../auth/tokens.ts'
import { originAllowed } from '../http/origin.ts'
import { isApiPath, queryValue, requestPath } from '../http/request-path.ts'
import { typed } from '../http/typed.ts'
import { errors } from '../http/wire-schemas.ts'
import '../types.ts'

/** How each route is guarded, recorded as routes are declared (the route × role matrix test reads it). */
export interface RouteAccess {
  method: string
  url: string
  websocket: boolean
  /**
   * The weakest role allowed by this plugin's check; `public` for routes without one; `none` outside /api (their own
   * hooks decide, e.g. /collab).
   */
  access: Role | 'public' | 'none'
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The tokens in force; `replace` changes them at runtime (LABELS_TOKENS_FILE). */
    tokens: TokenRegistry
    /** Signs short-lived download links (POST /api/links). */
    links: LinkSigner
    routeAccess: RouteAccess[]
  }
}

export interface AuthPluginOptions {
  tokens: TokenRegistry
  failuresPerMinute?: number
  /** Origins besides the server's own that may open WebSockets (LABELS_ALLOWED_ORIGINS; `*` for any). */
  allowedOrigins?: readonly string[]
}

/**
 * The presented token: `Authorization: Bearer T`; `?token=T` on GET (programs, WebSockets:
 * docs/api.md#authentication); or, on a WebSocket upgrade, the `labels.token.<base64url>` subprotocol the web
 * app sends so its token stays out of URLs.
 */
export function presentedToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h)
    return m?.[1] ?? ''
  }
  if (req.method === 'GET') {
    const q = queryValue(req, 'token')
    if (typeof q === 'string') return q
    if (req.headers.upgrade !== undefined) return tokenFromProtocols(req.headers['sec-websocket-protocol'])
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
 *
 * Every WebSocket route (here /api/live and /collab/:workspace) gets the Origin check first:
 * an upgrade from a page of another site answers 403 before any token is read or document
 * loaded (http/origin.ts).
 *
 * A GET may instead carry a signed link's `sig` (POST /api/links): it authenticates as the
 * operator who asked for it, with the lower of the role signed and the role they hold now.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: AuthPluginOptions) {
    app.decorateRequest('operator', null)
    app.decorate('tokens', opts.tokens)
    const links = new LinkSigner()
    app.decorate('links', links)
    const routeAccess: RouteAccess[] = []
    app.decorate('routeAccess', routeAccess)
    const allowedOrigins = opts.allowedOrigins ?? []
    const websocketPaths = new Set<string>()
    const failures = new FailureLimiter({ maxPerWindow: opts.failuresPerMinute ?? 30 })
    const audit = (entry: Parameters<typeof app.audit.append>[0]) =>
      void app.audit.append(entry).catch((err: unknown) => app.log.error({ err }, 'audit append failed'))

    /** Signed links taken by requests in flight: given back when the server fails the request (5xx, 429). */
    const linkReleases = new WeakMap<FastifyRequest, () => void>()
    app.addHook('onResponse', async (req, reply) => {
      const release = linkReleases.get(req)
      if (release && (reply.statusCode >= 500 || reply.statusCode === 429)) release()
    })

    /**
     * The operator of a signed link, with the role it was signed for capped by the one held now; null when withdrawn.
     */
    const linkOperator = (signed: Operator): Operator | null => {
      const now = opts.tokens.roleOf(signed.name)
      if (now === null) return null
      return { name: signed.name, role: roleAllows(now, signed.role) ? signed.role : now }
    }

    /**
     * A valid token always passes (operators behind one NAT with a flooding client keep
     * working); failures are audited once per address and window, then summarised, and past
     * the limit answered 429 without any audit write.
     */
    const authenticate = async (req: FastifyRequest, reply: FastifyReply, target: string): Promise<void> => {
      const token = presentedToken(req)
      let operator: Operator | null = opts.tokens.authenticate(token)
      let reason = token === undefined ? 'no token' : 'bad token'
      if (token === undefined && req.headers.upgrade === undefined && hasSig(req)) {
        const signed = links.redeem(req.method, req.url)
        reason = signed === 'used' ? 'used link' : 'bad link'
        if (signed && signed !== 'used') {
          operator = linkOperator(signed)
          if (operator) linkReleases.set(req, signed.release)
          else signed.release()
        }
      }
      if (operator) {
        req.operator = operator
        return
      }
      const verdict = failures.fail(req.ip)
      if (verdict.summary) audit({ actor: null, role: null, action: 'auth.failed.summary', details: verdict.summary })
      if (verdict.limitedFor !== null) {
        void reply.header('retry-after', String(verdict.limitedFor))
        throw new LabelsError(
          'too_many_requests',
          `too many failed logins from this address; retry in ${verdict.limitedFor} s`,
        )
      }
      if (verdict.audit)
        audit({ actor: null, role: null, action: 'auth.failed', target, details: { reason, ip: req.ip } })
      if (reason === 'used link')
        throw new LabelsError('unauthorized', 'the link has been used already: ask for a new one (POST /api/links)')
      if (reason === 'bad link')
        throw new LabelsError(
          'unauthorized',
          'the link is not valid or has expired: ask for a new one (POST /api/links)',
        )
      throw new LabelsError(
        'unauthorized',
        token === undefined ? 'a token is required: Authorization: Bearer TOKEN' : 'the token is not valid',
      )
    }
    app.addHook('onClose', async () => {
      for (const summary of failures.drain())
        await app.audit
          .append({ actor: null, role: null, action: 'auth.failed.summary', details: summary })
          .catch(() => {})
    })

    const routeCheck: onRequestHookHandler = async (req, reply) => {
      await authenticate(req, reply, req.routeOptions.url ?? requestPath(req))
      const need = req.routeOptions.config.role ?? 'admin'
      const operator = req.operator!
      if (!roleAllows(operator.role, need))
        throw new LabelsError('forbidden', `this needs the ${need} role; ${operator.name} is ${operator.role}`)
    }

    const originCheck: onRequestHookHandler = async (req) => {
      if (req.headers.upgrade === undefined) return
      if (!originAllowed(req.headers.origin, req.headers.host, allowedOrigins))
        throw new LabelsError(
          'forbidden',
          `WebSocket connections from ${req.headers.origin} are not allowed (same origin only; see LABELS_ALLOWED_ORIGINS)`,
        )
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      const websocket = (route as { websocket?: boolean }).websocket === true
      const api = isApiPath(route.url)
      const isPublic = (route.config as { public?: boolean } | undefined)?.public === true
      const role = (route.config as { role?: Role } | undefined)?.role ?? 'admin'
      for (const method of Array.isArray(route.method) ? route.method : [route.method])
        routeAccess.push({ method, url: route.url, websocket, access: !api ? 'none' : isPublic ? 'public' : role })
      if (websocket) websocketPaths.add(route.url)
      // A WebSocket route that checks Origin itself first (the collab plugin, which counts refusals) keeps its own.
      const ownOrigin = (route.config as { checksOrigin?: boolean } | undefined)?.checksOrigin === true
      const checks = [...(websocket && !ownOrigin ? [originCheck] : []), ...(api && !isPublic ? [routeCheck] : [])]
      if (checks.length === 0) return
      const own =
        route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest]
      route.onRequest = [...checks, ...own]
    })

    // Only requests that matched no route: a matched route carries routeCheck itself.
    app.addHook('onRequest', async (req, reply) => {
      if (req.routeOptions.url !== undefined || !isApiPath(requestPath(req))) return
      await authenticate(req, reply, requestPath(req))
    })

    typed(app).post(
      '/api/links',
      {
        config: { role: 'viewer' },
        schema: {
          summary: 'A short-lived signed link for one GET request (downloads without the token in the URL)',
          description:
            'The link works without a token for about 60 s, for exactly that path and query, as the operator who asked, ' +
            'with the role they hold when it is used (never more than when it was signed). The web app uses it for every download.',
          body: Type.Object({
            path: Type.String({
              minLength: 1,
              maxLength: 4096,
              description: 'An /api path and query to GET, e.g. /api/labels/x/distribution?format=csv',
            }),
          }),
          response: {
            200: Type.Object({ url: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
            ...errors(400, 403),
          },
        },
      },
      async (req) => {
        const { path } = req.body
        return links.sign(req.operator!, signableTarget(path, websocketPaths))
      },
    )
  },
  { name: 'auth', dependencies: ['audit'] },
)

const hasSig = (req: FastifyRequest) => req.url.includes(`${SIG_PARAM}=`)

const SECRET_PARAMS = new Set(['token', 'access_token', SIG_PARAM])

/**
 * The request target to sign for `path`: an /api GET route, no fragment, no token or
 * signature in its query, spelled as a browser will send it (WHATWG URL serialisation).
 */
function signableTarget(path: string, websocketPaths: ReadonlySet<string>): string {
  const bad = (why: string) => new LabelsError('bad_request', `/body/path: ${why}`, '/body/path')
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('#') || path.includes('\\'))
    throw bad('give a path of this server, like /api/labels/x/distribution?format=csv')
  const u = new URL(path, 'http://labels.invalid')
  if (u.origin !== 'http://labels.invalid') throw bad('give a path of this server')
  let decoded: string
  try {
    decoded = decodeURIComponent(u.pathname)
  } catch {
    throw bad('the path has a malformed escape')
  }
  if (!isApiPath(decoded) || decoded === '/api') throw bad('only /api paths can be signed')
  if (websocketPaths.has(decoded)) throw bad('WebSocket endpoints take the token in their subprotocol, not a link')
  for (const k of u.searchParams.keys()) if (SECRET_PARAMS.has(k)) throw bad(`the query must not carry "${k}"`)
  return u.pathname + u.search
}
