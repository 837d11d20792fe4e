import type { DataType } from '../../../shared/schemas/label.ts'
import { ApiError } from '../../api/http.ts'

/** One rejected row of an import file; `row` is the 1-based data row (header excluded), 0 for the whole file. */
export interface RowError {
  row: number
  reason: string
}

/** POST /api/labels/:label/import's answer (docs/api.md#import). `invalidRows` counts every bad row; `errors` lists the first ones. */
export interface ImportReport {
  runId: string
  imported: number
  errors: RowError[]
  committed: boolean
  invalidRows?: number
}

export type ImportMode = 'replace' | 'merge'

/**
 * How many rows were bad: `count` from the server's `invalidRows`; when the server did not send
 * it, the listed rows, and `atLeast` when that list may be cut short.
 */
export interface BadRows {
  count: number
  atLeast: boolean
}

/** What the operator is told after an upload. `listed` are the bad rows shown (the first ones). */
export type ImportOutcome =
  | { kind: 'stored'; imported: number; mode: ImportMode; skipped: BadRows; listed: RowError[] }
  | { kind: 'rejected'; message: string; invalid: BadRows; listed: RowError[] }
  | { kind: 'failed'; message: string }

/** How many row errors the server lists at most (engine/calc/import-values.ts); more are only counted. */
export const listedErrors = 100

const isRowErrors = (v: unknown): v is RowError[] =>
  Array.isArray(v) &&
  v.every(
    (e) =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as RowError).row === 'number' &&
      typeof (e as RowError).reason === 'string',
  )

function badRows(listed: RowError[], invalidRows: unknown): BadRows {
  if (typeof invalidRows === 'number' && invalidRows >= listed.length) return { count: invalidRows, atLeast: false }
  return { count: listed.length, atLeast: listed.length >= listedErrors }
}

/** Whether only the first of the bad rows are listed. */
export const partlyListed = (bad: BadRows, listed: RowError[]): boolean => bad.atLeast || bad.count > listed.length

/** "3 rows" / "1 row" / "at least 100 rows". */
export const rowsText = (bad: BadRows): string =>
  `${bad.atLeast ? 'at least ' : ''}${bad.count} row${bad.count === 1 ? '' : 's'}`

/** The outcome of a finished upload: the server's report, or the error it answered. */
export function importOutcome(result: { report: ImportReport; mode: ImportMode } | { error: unknown }): ImportOutcome {
  if ('report' in result) {
    const r = result.report
    const bad = badRows(r.errors, r.invalidRows)
    if (r.committed) return { kind: 'stored', imported: r.imported, mode: result.mode, skipped: bad, listed: r.errors }
    return {
      kind: 'rejected',
      message: `${rowsText(bad)} invalid; nothing was imported`,
      invalid: bad,
      listed: r.errors,
    }
  }
  const e = result.error
  if (e instanceof ApiError) {
    const details = e.details as { errors?: unknown; invalidRows?: unknown } | undefined
    const rows = details?.errors
    if (isRowErrors(rows) && rows.length > 0)
      return { kind: 'rejected', message: e.message, invalid: badRows(rows, details?.invalidRows), listed: rows }
    return { kind: 'failed', message: e.status ? `${e.message} (HTTP ${e.status})` : e.message }
  }
  return { kind: 'failed', message: e instanceof Error ? e.message : String(e) }
}

/** "3" / "whole file" (row 0 is about the whole file, e.g. no data rows). */
export const rowName = (row: number): string => (row > 0 ? String(row) : 'whole file')

/** What a value cell must look like for a label of `dataType` (the engine's parseImportValue). */
export const valueFormats: Record<DataType, string> = {
  string: 'any text',
  number: 'a number such as 42 or -3.5',
  boolean: 'true / false (or 1 / 0)',
  date: 'a date YYYY-MM-DD or an ISO date-time',
  collection: 'elements separated by | (vip|sms) or a JSON array',
}

/** "12.3 KB" for a file size. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
