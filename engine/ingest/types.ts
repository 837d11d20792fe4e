import type { IngestReport } from '../api.ts'
import type { RawValue } from './values.ts'

export type IngestKind = 'users' | 'events'
export type IngestFormat = 'ndjson' | 'csv'

export interface IngestOptions {
  /** Store the good rows and report the bad ones, instead of storing nothing. */
  skipInvalid?: boolean
  /** More data rows than this fails the request with `too_large`. */
  maxRows?: number
  /** Rows buffered per staging write (default 50 000). */
  batchSize?: number
  /** How many errors the report lists (default 100); all are counted in `invalidRows`. */
  maxErrors?: number
  /** Where the body is parsed and validated: 'inline' (this thread, default) or 'worker' (a parse worker thread, for big bodies). */
  parse?: 'inline' | 'worker'
}

/** IngestReport plus the count of every invalid row (the listed errors are capped). */
export interface IngestResult extends IngestReport {
  invalidRows: number
}

/** A user record of the records API (NDJSON shape, docs/api.md#ingestion-records). */
export interface UserRecord {
  user_id: string
  properties?: Record<string, unknown>
}

/** An event record of the records API (NDJSON shape, docs/api.md#ingestion-records). */
export interface EventRecord {
  user_id: string
  event: string
  time: string | Date | number
  event_id?: string | null
  properties?: Record<string, unknown>
}

/** One parsed but not yet validated row; `row` is 1-based (CSV header excluded). */
export interface RawRecord {
  row: number
  userId: unknown
  event?: unknown
  time?: unknown
  eventId?: unknown
  properties: ReadonlyArray<readonly [string, RawValue]>
  /** A JSON record's properties object, read in place (own enumerable keys, after `properties`). */
  json?: Record<string, unknown> | null
}
