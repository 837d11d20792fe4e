import type { ValueType } from '../storage/catalogue.ts'
import type { IngestKind } from './types.ts'

/**
 * The two halves of an ingestion request and what passes between them. The parsing half
 * (text → validated, typed rows → encoded batches; `IngestSession`) touches no database and
 * may run in a worker thread; the storing half (`IngestStore`) owns the SQL. Everything here
 * is structured-clonable, so the link can be a direct call or a message channel.
 */

/** What the parsing half needs to know before the first row. */
export interface OpenInfo {
  /** Known attribute types (users) or property types per event name (events). */
  known: Array<[string, Array<[string, ValueType]>]>
  /** The request's ticket: every staged event's seq is `ticket << 32 | row` (ingestion order). */
  ticket: number
  /** Whether batches should come as binary COPY data (PGlite) rather than column arrays. */
  binary: boolean
}

/** One staged batch of one target (users: ''; events: the event name). */
export interface Batch {
  target: string
  /** Types of the staging columns p0…pN as of this batch (a batch may add columns). */
  types: ValueType[]
  rows: number
  /** Binary COPY data for the staging table's columns in order, or null → `cols`. */
  data: Uint8Array | null
  /** Column arrays (row, uid|user_id, [time, event_id,] p0…) when `data` is null. */
  cols: unknown[][] | null
}

/** What the parsing half staged for one target, for the commit. */
export interface TargetSummary {
  event: string
  /** Names this request saw first, with their inferred types. */
  fresh: Array<[string, ValueType]>
  /** Attribute/property name → staging column index (p<i>). */
  stageIdx: Array<[string, number]>
  types: ValueType[]
  rows: number
}

/** The parsing half's verdict at the end of the body. */
export interface ParseSummary {
  kind: IngestKind
  targets: TargetSummary[]
  errors: Array<{ row: number; reason: string }>
  invalidRows: number
  /** A bad row without skipInvalid: nothing may be stored. */
  doomed: boolean
}

/** The storing half as the parsing half sees it. */
export interface StoreLink {
  open(): Promise<OpenInfo>
  /** uids of user_ids (new users get uids reserved now and are stored at commit). */
  resolveUids(userIds: string[]): Promise<Int32Array>
  write(batch: Batch): Promise<void>
}
