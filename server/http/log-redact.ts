import type { FastifyRequest } from 'fastify'

/** Query parameters whose values never reach a log line. */
const SECRET_PARAMS = /([?&](?:token|access_token|sig|signature)=)[^&#]*/gi

/**
 * The URL with secret query values replaced by `[redacted]` (the browser puts tokens in WebSocket and download URLs).
 */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]')
}

/**
 * Fastify's request serializer with the URL redacted. Headers are not logged at all (the
 * default serializer doesn't either), so `Authorization` never reaches the log.
 */
export const logSerializers = {
  req(req: FastifyRequest) {
    return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip }
  },
}
