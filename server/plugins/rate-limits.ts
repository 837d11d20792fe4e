import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { LabelsError } from '../../shared/errors.ts'
import '../types.ts'

/** Requests per minute per operator on the expensive routes (AppOptions.rateLimits). */
export interface RateLimits {
  /** POST /api/preview, POST /api/labels/:label/compare and GET …/explain/:userId: a rule run over the data. */
  previewPerMinute: number
  /** POST /api/data/users|events and POST /api/labels/:label/import. */
  ingestPerMinute: number
  /** Exports and bulk reads: the audience, the customer sample. */
  exportPerMinute: number
  /** Failed logins per client address before it is answered 429 (server/auth/failure-limiter.ts). */
  authFailuresPerMinute: number
}

export const defaultRateLimits: RateLimits = {
  previewPerMinute: 120,
  ingestPerMinute: 60,
  exportPerMinute: 120,
  authFailuresPerMinute: 30,
}

/** Which bucket a route belongs to, by method and pattern. */
function bucketOf(route: Pick<RouteOptions, 'method' | 'url'>): keyof Omit<RateLimits, 'authFailuresPerMinute'> | null {
  const methods = Array.isArray(route.method) ? route.method : [route.method]
  const is = (m: string) => methods.includes(m as never)
  if (is('POST') && (route.url === '/api/preview' || route.url === '/api/labels/:label/compare'))
    return 'previewPerMinute'
  if (is('GET') && route.url === '/api/labels/:label/explain/:userId') return 'previewPerMinute'
  if (
    is('POST') &&
    (route.url === '/api/data/users' || route.url === '/api/data/events' || route.url === '/api/labels/:label/import')
  )
    return 'ingestPerMinute'
  if (is('GET') && (route.url === '/api/labels/:label/users' || route.url === '/api/data/sample'))
    return 'exportPerMinute'
  return null
}

/**
 * Per-operator rate limits on the routes that run rules over the data, ingest or export.
 * Counted after authentication (preHandler), keyed by operator, so one operator's burst
 * doesn't limit the others; answered 429 `too_many_requests` with Retry-After.
 */
export default fp(
  async function rateLimitsPlugin(app: FastifyInstance, opts: { limits: RateLimits }) {
    // Runs before @fastify/rate-limit's own onRoute hook (registered below), which reads config.rateLimit.
    app.addHook('onRoute', (route: RouteOptions) => {
      const bucket = bucketOf(route)
      if (!bucket) return
      route.config = {
        ...(route.config as object),
        rateLimit: { max: opts.limits[bucket], timeWindow: 60_000 },
      } as RouteOptions['config']
    })
    await app.register(rateLimit, {
      global: false,
      hook: 'preHandler',
      keyGenerator: (req) => (req.operator ? `op:${req.operator.name}` : `ip:${req.ip}`),
      errorResponseBuilder: (_req, ctx) =>
        new LabelsError(
          'too_many_requests',
          `too many requests: at most ${ctx.max} a minute; retry in ${Math.ceil(ctx.ttl / 1000)} s`,
        ),
    })
  },
  { name: 'rate-limits', dependencies: ['auth'] },
)
