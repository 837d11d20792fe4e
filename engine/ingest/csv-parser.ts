import { maxRecordChars, RecordTooLarge } from './record-limit.ts'

/** One CSV record: its 1-based physical record number (header = 1) and its fields. */
export interface CsvRecord {
  record: number
  fields: string[]
}

const COMMA = 44,
  LF = 10,
  CR = 13,
  QUOTE = 34

/**
 * A streaming RFC 4180 parser: chunks may split anywhere (inside quotes, between \r and \n).
 * Quoted fields may hold commas, doubled quotes and newlines; a leading BOM is dropped;
 * a quote inside an unquoted field is kept literally (lenient, as spreadsheets write).
 * A record longer than `maxRecord` characters throws RecordTooLarge as soon as it passes the
 * limit, e.g. when an unterminated quote would swallow the rest of a huge body.
 */
export class CsvParser {
  constructor(private readonly maxRecord = maxRecordChars) {}
  /** Characters of the current record so far (fields and separators). */
  private size = 0
  private field = ''
  private fields: string[] = []
  private state: 'start' | 'plain' | 'quoted' | 'quote' = 'start'
  private skipLf = false
  private started = false
  private record = 0
  /** Record number where an open quote started, for the unterminated-quote error. */
  openQuoteAt = 0; // the semicolon keeps `*push` below from parsing as a multiplication

  /** Parses a chunk, yielding every record it completes. */
  *push(chunk: string): Generator<CsvRecord> {
    let i = 0
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) i = 1
    }
    const n = chunk.length
    while (i < n) {
      if (this.skipLf) {
        this.skipLf = false
        if (chunk.charCodeAt(i) === LF) {
          i++
          continue
        }
      }
      if (this.state === 'quoted') {
        const j = chunk.indexOf('"', i)
        if (j < 0) {
          this.grow(n - i)
          this.field += chunk.slice(i)
          return
        }
        this.grow(j + 1 - i)
        this.field += chunk.slice(i, j)
        this.state = 'quote'
        i = j + 1
        continue
      }
      if (this.state === 'quote') {
        if (chunk.charCodeAt(i) === QUOTE) {
          this.field += '"'
          this.state = 'quoted'
          i++
          continue
        }
        this.state = 'plain' // text after a closing quote: keep it, leniently
      }
      if (this.state === 'start' && chunk.charCodeAt(i) === QUOTE) {
        this.state = 'quoted'
        this.openQuoteAt = this.record + 1
        i++
        continue
      }
      // plain field: scan to the next delimiter
      let j = i
      let c = 0
      for (; j < n; j++) {
        c = chunk.charCodeAt(j)
        if (c === COMMA || c === LF || c === CR) break
      }
      this.grow(j + 1 - i)
      this.field += chunk.slice(i, j)
      this.state = 'plain'
      if (j === n) return
      this.fields.push(this.field)
      this.field = ''
      this.state = 'start'
      i = j + 1
      if (c !== COMMA) {
        if (c === CR) this.skipLf = true
        yield this.emit()
      }
    }
  }

  /** Ends the input, yielding the last record when it had no line break. */
  *end(): Generator<CsvRecord> {
    if (this.state === 'quoted') throw new UnterminatedQuote(this.openQuoteAt)
    if (this.state !== 'start' || this.fields.length > 0) {
      this.fields.push(this.field)
      this.field = ''
      this.state = 'start'
      yield this.emit()
    }
  }

  /** Counts n more characters of the current record, refusing it past the limit. */
  private grow(n: number): void {
    this.size += n
    if (this.size > this.maxRecord) throw new RecordTooLarge(this.record + 1, this.maxRecord, this.state === 'quoted')
  }

  private emit(): CsvRecord {
    const out = { record: ++this.record, fields: this.fields }
    this.size = 0
    this.fields = []
    return out
  }
}

/** The input ended inside a quoted field. */
export class UnterminatedQuote extends Error {
  constructor(readonly record: number) {
    super(`unterminated quoted field starting in record ${record}`)
  }
}
