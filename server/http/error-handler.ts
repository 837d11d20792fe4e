import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LabelsError, type ErrorCode } from '../../shared/errors.ts'
import { isApiPath, requestPath } from './request-path.ts'

/** The one error body (docs/api.md#errors). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; path?: string; details?: unknown }
}

const byStatus: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'too_large',
  415: 'bad_request',
  422: 'invalid',
  429: 'too_many_requests',
  503: 'unavailable',
  504: 'timeout',
}

/**
 * A full or read-only data directory: PostgreSQL's disk_full, read_only_sql_transaction and
 * io_error, or Node's errno codes. Not the caller's fault, and temporary: 503, saying why.
 */
const storageFailures = new Set(['53100', '25006', '58030', 'ENOSPC', 'EDQUOT', 'EROFS', 'EIO'])

/**
 * Maps any thrown value to a LabelsError: ours as is, Fastify's by status, storage failures as 503, the rest as 500.
 */
export function toLabelsError(r: unknown): LabelsError {
  // Errors from the engine and parse workers arrive as LabelsError already (shared/worker-errors.ts).
  if (r instanceof LabelsError) return r
  const sc = (r as { code?: unknown } | null)?.code
  if (typeof sc === 'string' && storageFailures.has(sc))
    return new LabelsError(
      'unavailable',
      `the server's storage failed (${(r as { message?: string }).message ?? sc}): the request was not completed; try again once the disk has space and is writable`,
    )
  const fe = r as Partial<FastifyError> & {
    validation?: Array<{ instancePath?: string; message?: string }>
    validationContext?: string
  }
  if (fe.validation) {
    const v = fe.validation[0]
    const path = `/${fe.validationContext ?? 'body'}${v?.instancePath ?? ''}`
    return new LabelsError('bad_request', `${path}: ${v?.message ?? 'invalid'}`, path)
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413)
    return new LabelsError('too_large', 'request body is too large')
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new LabelsError('bad_request', fe.message ?? 'unsupported content type', '/headers/content-type')
  if (
    fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    (status === 400 && r instanceof SyntaxError)
  )
    return new LabelsError('bad_request', 'body is not valid JSON', '/body')
  const code = byStatus[status]
  if (code) return new LabelsError(code, fe.message ?? code)
  return new LabelsError('internal', 'internal error')
}

/**
 * Installs the error and not-found handlers that answer `{error:{code,message,path?}}`.
 * `appShell` answers other unknown GETs (the web app's client-side routes).
 */
export function installErrorHandlers(
  app: FastifyInstance,
  appShell?: (req: FastifyRequest, reply: FastifyReply) => unknown,
): void {
  app.setErrorHandler((e, req, reply) => {
    const err = toLabelsError(e)
    if (err.status >= 500) req.log.error({ err: e }, 'request failed')
    const body: ErrorBody = { error: err.toJSON() }
    return reply.status(err.status).type('application/json').serializer(JSON.stringify).send(body)
  })
  app.setNotFoundHandler((req, reply) => {
    const path = requestPath(req)
    if (appShell && req.method === 'GET' && !isApiPath(path) && !path.startsWith('/collab/'))
      return appShell(req, reply)
    const body: ErrorBody = { error: { code: 'not_found', message: `no route ${req.method} ${path}` } }
    return reply.status(404).send(body)
  })
}
