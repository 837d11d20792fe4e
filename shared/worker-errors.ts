import * as Comlink from 'comlink'
import { ErrorStatus, LabelsError, type ErrorCode } from './errors.ts'

/**
 * How an error crosses a worker boundary, the same way for every worker of the product: the
 * server's engine worker, the ingestion parse worker and the browser's preview worker. Comlink
 * alone sends only an Error's name, message and stack, so a LabelsError would lose its code,
 * path and details (a 422 would become a 500), and a database error its SQLSTATE.
 *
 * `registerErrorTransport()` installs one Comlink transfer handler, 'labels-error', ahead of
 * Comlink's own 'throw' handler. Both sides of a boundary call it before their first call
 * (the sending side serialises with it, the receiving side looks it up by name).
 */

/** An error as it crosses a thread: LabelsError keeps its code, path and details; others their name, message and a string `code` (SQLSTATE, errno). */
export interface WireError {
  name: string
  message: string
  code?: string
  path?: string
  details?: unknown
  stack?: string
}

/** What the handler sends: a thrown error, or a LabelsError passed as a value. */
interface WireCarrier {
  thrown: boolean
  error: WireError
}

/** `details` as far as the structured clone can carry it (JSON as a fallback; else dropped). */
function cloneable(v: unknown): unknown {
  if (v === undefined) return undefined
  try {
    return structuredClone(v)
  } catch {
    try {
      return JSON.parse(JSON.stringify(v)) as unknown
    } catch {
      return undefined
    }
  }
}

const isCode = (c: unknown): c is ErrorCode => typeof c === 'string' && Object.hasOwn(ErrorStatus, c)

/** Any thrown value in its wire form. */
export function errorToWire(e: unknown): WireError {
  if (
    e instanceof LabelsError ||
    (e instanceof Error && e.name === 'LabelsError' && isCode((e as { code?: unknown }).code))
  ) {
    const l = e as LabelsError
    const w: WireError = { name: 'LabelsError', message: l.message, code: l.code }
    if (l.path !== undefined) w.path = l.path
    const details = cloneable(l.details)
    if (details !== undefined) w.details = details
    if (l.stack) w.stack = l.stack
    return w
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code
    const w: WireError = { name: e.name, message: e.message }
    if (typeof code === 'string') w.code = code
    if (e.stack) w.stack = e.stack
    return w
  }
  return {
    name: 'Error',
    message: typeof e === 'string' ? e : String((e as { message?: unknown } | null)?.message ?? e),
  }
}

/** The error again, on the receiving side: a LabelsError as itself, others as an Error with their name, code and stack. */
export function errorFromWire(w: WireError): Error {
  if (w.name === 'LabelsError' && isCode(w.code)) {
    const e = new LabelsError(w.code, w.message, w.path, w.details)
    if (w.stack) e.stack = w.stack
    return e
  }
  const e = new Error(w.message)
  if (w.name && w.name !== 'Error') e.name = w.name
  if (w.code !== undefined) Object.assign(e, { code: w.code })
  if (w.stack) e.stack = w.stack
  return e
}

/** The name the handler is registered under (both sides must use the same). */
export const errorTransportName = 'labels-error'

/**
 * Installs the 'labels-error' transfer handler (idempotent). It takes what Comlink's 'throw'
 * handler would (a rejected call, recognised by that handler's own test) and any LabelsError
 * passed as an argument or a return value; it sits before 'throw' in Comlink's handler map,
 * which is tried in order.
 */
export function registerErrorTransport(): void {
  const handlers = Comlink.transferHandlers
  if (handlers.has(errorTransportName)) return
  const builtinThrow = handlers.get('throw')
  const isThrown = (v: unknown): v is { value: unknown } => builtinThrow?.canHandle(v) ?? false
  const handler: Comlink.TransferHandler<unknown, WireCarrier> = {
    canHandle: (v): v is unknown => v instanceof LabelsError || isThrown(v),
    serialize: (v) => {
      if (v instanceof LabelsError) return [{ thrown: false, error: errorToWire(v) }, []]
      return [{ thrown: true, error: errorToWire((v as { value: unknown }).value) }, []]
    },
    deserialize: (w) => {
      const e = errorFromWire(w.error)
      if (w.thrown) throw e
      return e
    },
  }
  // Map order is insertion order: take 'throw' out and put it back after ours.
  handlers.delete('throw')
  handlers.set(errorTransportName, handler)
  if (builtinThrow) handlers.set('throw', builtinThrow)
}
