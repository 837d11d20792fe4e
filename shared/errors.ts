/** Error codes shared by engine, server and client; each maps to one HTTP status (docs/api.md#errors). */
export const ErrorStatus = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  invalid: 422,
  too_many_requests: 429,
  timeout: 504,
  unavailable: 503,
  internal: 500,
} as const

export type ErrorCode = keyof typeof ErrorStatus

/** An error that carries its code, HTTP status and the offending JSON path or value. */
export class LabelsError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly path: string | undefined
  readonly details: unknown

  constructor(code: ErrorCode, message: string, path?: string, details?: unknown) {
    super(message)
    this.name = 'LabelsError'
    this.code = code
    this.status = ErrorStatus[code]
    this.path = path
    this.details = details
  }

  toJSON(): { code: ErrorCode; message: string; path?: string; details?: unknown } {
    return {
      code: this.code,
      message: this.message,
      ...(this.path !== undefined ? { path: this.path } : {}),
      ...(this.details !== undefined ? { details: this.details } : {}),
    }
  }
}

/** Shorthands so call sites read as the rule they enforce. */
export const invalid = (message: string, path?: string, details?: unknown) =>
  new LabelsError('invalid', message, path, details)
export const badRequest = (message: string, path?: string, details?: unknown) =>
  new LabelsError('bad_request', message, path, details)
export const notFound = (message: string, path?: string) => new LabelsError('not_found', message, path)
export const conflict = (message: string, path?: string) => new LabelsError('conflict', message, path)
