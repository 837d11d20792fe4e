import type { Batch, OpenInfo, ParseSummary } from './link.ts'
import type { IngestFormat, IngestKind, IngestOptions } from './types.ts'

/** The parsing half of a streamed body, wherever it runs (the engine thread or the parse worker). */
export interface BodyParser {
  push(chunk: string): Promise<void>
  finish(): Promise<ParseSummary>
  abort(): Promise<void>
}

/**
 * What the parse worker exposes over Comlink (its `parentPort`): the parsing half of any number
 * of requests, each `id`'s calls handled in order. A failed call rejects with the error as the
 * request's parser threw it (shared/worker-errors.ts carries a LabelsError's code and path).
 */
export interface ParseWorkerApi {
  begin(id: number, kind: IngestKind, format: IngestFormat, opts: IngestOptions): void
  push(id: number, chunk: string): Promise<void>
  finish(id: number): Promise<ParseSummary>
  /** Resolves once the request's parser is discarded; unknown ids resolve at once. */
  abort(id: number): Promise<void>
}

/**
 * What the engine thread exposes to the parse worker over Comlink (a MessagePort given to the
 * worker at start): each request's store (`StoreLink`) by request id. Batches are transferred.
 */
export interface StoreRouter {
  open(id: number): Promise<OpenInfo>
  resolveUids(id: number, userIds: string[]): Promise<Int32Array>
  write(id: number, batch: Batch): Promise<void>
}

/** What the parse worker finds in its `workerData`. */
export interface ParseWorkerData {
  /** The engine thread's end of the StoreRouter channel. */
  storePort: import('node:worker_threads').MessagePort
}
