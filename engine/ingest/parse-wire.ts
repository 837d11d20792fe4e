import { LabelsError, reviveError } from '../../shared/errors.ts'
import type { ParseSummary } from './link.ts'
import type { IngestFormat, IngestKind, IngestOptions } from './types.ts'

/** Messages from the engine thread to the parse worker. */
export type ToParser =
  | { op: 'begin'; id: number; kind: IngestKind; format: IngestFormat; opts: IngestOptions }
  | { op: 'push'; id: number; chunk: string }
  | { op: 'finish'; id: number }
  | { op: 'abort'; id: number }
  | { op: 'reply'; id: number; call: number; value?: unknown; error?: WireError }

/** Messages from the parse worker to the engine thread. */
export type FromParser =
  | { op: 'pushed'; id: number; error?: WireError }
  | { op: 'finished'; id: number; summary?: ParseSummary; error?: WireError }
  | { op: 'aborted'; id: number }
  | { op: 'call'; id: number; call: number; method: 'open' | 'resolveUids' | 'write'; arg?: unknown }

/** An error as it crosses threads: LabelsError keeps its code, path and details; others their message and SQLSTATE. */
export interface WireError { name: string; message: string; code?: string; path?: string; details?: unknown }

export function toWire(e: unknown): WireError {
  if (e instanceof LabelsError) return { name: 'LabelsError', message: e.message, code: e.code, path: e.path, details: e.details }
  const err = e as { message?: unknown; code?: unknown }
  return { name: 'Error', message: String(err?.message ?? e), code: typeof err?.code === 'string' ? err.code : undefined }
}

export function fromWire(w: WireError): Error {
  if (w.name === 'LabelsError') return reviveError(w) as Error
  return Object.assign(new Error(w.message), w.code ? { code: w.code } : {})
}
