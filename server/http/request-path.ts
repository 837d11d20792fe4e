import type { FastifyRequest } from 'fastify'

/**
 * The path the router sees: percent-decoded, without the query. `/%61pi/labels` is
 * `/api/labels` to the router, so every decision about a request's path must use this (or
 * the matched route's pattern), never the raw `req.url`. A malformed escape is left as is
 * (the router does not match it either).
 */
export function requestPath(req: Pick<FastifyRequest, 'url'>): string {
  const raw = req.url.split('?')[0] ?? ''
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** True for `/api` and everything under it. */
export const isApiPath = (path: string): boolean => path === '/api' || path.startsWith('/api/')

/**
 * One querystring field of a request whatever its route (for hooks and route config functions, which see untyped
 * requests).
 */
export function queryValue(req: Pick<FastifyRequest, 'query'>, name: string): unknown {
  const q: unknown = req.query
  return typeof q === 'object' && q !== null ? (q as Record<string, unknown>)[name] : undefined
}
