/**
 * The longest record (one NDJSON line, one CSV record with its separators) a body may hold:
 * 16 MiB of characters. The parsers refuse a record as soon as it passes this, so a body that
 * is one 500 MB line, or ends inside an unterminated CSV quote, is answered without buffering
 * it whole (V8 can't even build a string past ~512 MB: "Invalid string length").
 */
export const maxRecordChars = 16 * 1024 * 1024

/** A record grew past maxRecordChars; `record` is the parser's 1-based line (NDJSON) or physical record (CSV) number. */
export class RecordTooLarge extends Error {
  constructor(
    readonly record: number,
    readonly limit: number,
    readonly inQuotes = false,
  ) {
    super(`record ${record} is longer than ${limit} characters`)
  }
}
