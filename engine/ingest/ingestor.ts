import { badRequest, LabelsError } from '../../shared/errors.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { CsvParser, UnterminatedQuote, type CsvRecord } from './csv-parser.ts'
import type { ParseSummary, StoreLink } from './link.ts'
import { NdjsonParser, type NdjsonLines } from './ndjson-parser.ts'
import { reservedNames } from './names.ts'
import { RecordTooLarge } from './record-limit.ts'
import { parseInWorker } from './parse-pool.ts'
import type { BodyParser } from './parse-wire.ts'
import { fillFromObject } from './records.ts'
import { IngestSession } from './session.ts'
import { IngestStore } from './store.ts'
import type { IngestFormat, IngestKind, IngestOptions, IngestResult, RawRecord } from './types.ts'

const requiredColumns = { users: ['user_id'], events: ['user_id', 'event', 'time'] } as const

/** Where each fixed field sits in the CSV header, and which columns are attributes/properties. */
interface CsvHeader {
  userId: number
  event: number
  time: number
  eventId: number
  props: Array<[number, string]>
  width: number
}

function readHeader(kind: IngestKind, fields: string[]): CsvHeader {
  const names = fields.map((f) => f.trim())
  const seen = new Set<string>()
  for (const [i, n] of names.entries()) {
    if (n === '') throw badRequest(`CSV header: column ${i + 1} has no name`, '/header')
    if (seen.has(n)) throw badRequest(`CSV header: column "${n}" appears twice`, '/header')
    seen.add(n)
  }
  for (const req of requiredColumns[kind])
    if (!seen.has(req)) throw badRequest(`CSV header: missing column "${req}"`, '/header')
  const fixed = reservedNames[kind]
  return {
    userId: names.indexOf('user_id'),
    event: names.indexOf('event'),
    time: names.indexOf('time'),
    eventId: names.indexOf('event_id'),
    props: names.flatMap((n, i) => (fixed.has(n) ? [] : [[i, n] as [number, string]])),
    width: names.length,
  }
}

/**
 * Streamed ingestion of an NDJSON or CSV body: `push` text chunks split anywhere (awaiting
 * each for backpressure), then `finish` to commit all-or-nothing, or `abort`. Parsing and
 * validation run in a parse worker thread when `opts.parse` is 'worker' (big bodies: the
 * database stages one batch while the next is parsed), else on this thread.
 */
export class Ingestor {
  private readonly store: IngestStore
  private readonly parser: BodyParser

  constructor(
    db: SqlExecutor,
    readonly kind: IngestKind,
    readonly format: IngestFormat,
    opts: IngestOptions = {},
  ) {
    this.store = new IngestStore(db, kind)
    const { parse, ...rest } = opts
    this.parser =
      parse === 'worker'
        ? parseInWorker(this.store, kind, format, rest)
        : new TextParser(this.store, kind, format, rest)
  }

  /** Parses and stages one chunk of the body. */
  async push(chunk: string): Promise<void> {
    try {
      await this.parser.push(chunk)
    } catch (e) {
      await this.store.abort()
      throw e
    }
  }

  /** Ends the body and stores everything, or nothing when a row was bad (unless skipInvalid). */
  async finish(): Promise<IngestResult> {
    let summary: ParseSummary
    try {
      summary = await this.parser.finish()
    } catch (e) {
      await this.store.abort()
      throw e
    }
    return this.store.commit(summary)
  }

  /** Discards the request; nothing is stored. */
  async abort(): Promise<void> {
    try {
      await this.parser.abort()
    } finally {
      await this.store.abort()
    }
  }
}

/** Text → records → the session, on the calling thread. */
export class TextParser implements BodyParser {
  private readonly session: IngestSession
  private readonly ndjson: NdjsonParser | null
  private readonly csv: CsvParser | null
  private header: CsvHeader | null = null
  private failure: unknown = null

  constructor(
    link: StoreLink,
    readonly kind: IngestKind,
    readonly format: IngestFormat,
    opts: IngestOptions = {},
  ) {
    this.session = new IngestSession(link, kind, opts)
    this.ndjson = format === 'ndjson' ? new NdjsonParser() : null
    this.csv = format === 'csv' ? new CsvParser() : null
  }

  /** Parses and stages one chunk of the body. */
  async push(chunk: string): Promise<void> {
    await this.guard(async () => {
      if (this.ndjson) await this.lines(this.ndjson.split(chunk))
      else if (this.csv) await this.records(this.csv.push(chunk))
    })
  }

  /** Ends the body: the last batches are staged and the summary says what may be stored. */
  async finish(): Promise<ParseSummary> {
    await this.guard(async () => {
      if (this.ndjson) await this.lines(this.ndjson.splitEnd())
      else if (this.csv) {
        try {
          await this.records(this.csv.end())
        } catch (e) {
          if (!(e instanceof UnterminatedQuote)) throw e
          this.session.reject(Math.max(1, e.record - 1), 'unterminated quoted field')
        }
      }
    })
    return this.session.finish()
  }

  /** Discards the request. */
  async abort(): Promise<void> {
    await this.session.abort()
  }

  /** A structural failure (bad header, too many rows, a record too long) ends the request: nothing is stored. */
  private async guard(fn: () => Promise<void>): Promise<void> {
    if (this.failure) throw this.failure
    try {
      await fn()
    } catch (caught) {
      const e = caught instanceof RecordTooLarge ? this.tooLarge(caught) : caught
      this.failure = e
      await this.session.abort()
      throw e
    }
  }

  /** 413 naming the data row (header excluded, as in every row error) that passed the record limit. */
  private tooLarge(e: RecordTooLarge): LabelsError {
    const row = this.format === 'csv' ? e.record - 1 : e.record
    const what = row === 0 ? 'the CSV header' : `row ${row}`
    const hint = e.inQuotes ? ' (inside a quoted field: an unterminated quote?)' : ''
    return new LabelsError(
      'too_large',
      `${what} is longer than ${e.limit} characters, the limit of one record${hint}; nothing was stored`,
      `/${row}`,
      { row, limit: e.limit },
    )
  }

  /** One reused record: `session.add` reads it before returning, and we await what it returns. */
  private readonly rec: RawRecord = {
    row: 0,
    userId: undefined,
    event: undefined,
    time: undefined,
    eventId: undefined,
    properties: [],
    json: null,
  }

  private async lines({ first, lines }: NdjsonLines): Promise<void> {
    const rec = this.rec
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i] as string
      if (text === '') continue
      const line = first + i
      let obj: unknown
      try {
        obj = JSON.parse(text)
      } catch (e) {
        this.session.reject(line, `bad JSON: ${(e as Error).message}`)
        continue
      }
      const bad = fillFromObject(rec, line, obj, this.kind)
      if (bad !== null) this.session.reject(line, bad)
      else {
        const p = this.session.add(rec)
        if (p) await p // only when a batch is written: a microtask per row would cost seconds per million
      }
    }
  }

  private async records(records: Generator<CsvRecord>): Promise<void> {
    for (const rec of records) {
      if (!this.header) {
        this.header = readHeader(this.kind, rec.fields)
        continue
      }
      const row = rec.record - 1
      if (rec.fields.length === 1 && rec.fields[0] === '') continue // blank line
      if (rec.fields.length !== this.header.width) {
        this.session.reject(row, `expected ${this.header.width} fields, found ${rec.fields.length}`)
        continue
      }
      const p = this.session.add(this.fromCsv(row, rec.fields, this.header))
      if (p) await p
    }
  }

  private fromCsv(row: number, f: string[], h: CsvHeader): RawRecord {
    const props = h.props.map(([i, name]) => [name, { kind: 'text', value: f[i] as string }] as const)
    // Ids are kept as written, as NDJSON's are (docs/semantics.md, customer data): one customer
    // whichever format it came in, and an audience export imports back to the same customers.
    const base: RawRecord = { row, userId: f[h.userId], properties: props }
    if (this.kind === 'users') return base
    const eventId = h.eventId < 0 ? undefined : f[h.eventId]
    return {
      ...base,
      event: f[h.event]?.trim(),
      time: f[h.time]?.trim(),
      eventId: eventId?.trim() === '' ? undefined : eventId,
    }
  }
}
