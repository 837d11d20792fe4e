import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { LabelsError } from '../../shared/errors.ts'

/**
 * Decodes a request body stream as UTF-8 text chunks (BOM dropped, multi-byte characters
 * never split), failing with 413 as soon as `limitBytes` is passed. Bytes that are not UTF-8
 * (a GBK or Latin-1 export) fail with 400 naming the data row and the byte offset; `format`
 * says how rows are counted (NDJSON: lines; CSV: records, header excluded, quoted line breaks
 * inside a record), as the ingestion's own row errors count them.
 */
export async function* textChunks(
  stream: Readable,
  limitBytes: number,
  format: 'ndjson' | 'csv' = 'ndjson',
): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const rows = new RowCounter(format)
  let bytes = 0
  // destroyOnReturn false: a refused body is left to abandonBody (drained, then the connection
  // closes), so the client still reads the 413 instead of a reset.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    const before = bytes
    bytes += buf.length
    if (bytes > limitBytes) throw new LabelsError('too_large', `the body is larger than ${sizeWords(limitBytes)}`)
    const text = decode(decoder, buf, true, () => notUtf8(rows, buf, before))
    rows.see(text)
    if (text) yield text
  }
  const rest = decode(decoder, undefined, false, () => notUtf8(rows, Buffer.alloc(0), bytes))
  if (rest) yield rest
}

function decode(d: TextDecoder, buf: Buffer | undefined, stream: boolean, fail: () => LabelsError): string {
  try {
    return d.decode(buf, { stream })
  } catch {
    throw fail()
  }
}

/** The refusal for the first byte of `buf` (at `offset` in the body) that is not UTF-8. */
function notUtf8(rows: RowCounter, buf: Buffer, offset: number): LabelsError {
  // Nothing invalid in this chunk: the sequence the previous chunk started is what was broken.
  const found = firstInvalidUtf8(buf)
  const at = found === buf.length ? 0 : found
  rows.see(buf.subarray(0, at).toString('utf8'))
  const row = rows.current()
  const byte = offset + at
  return new LabelsError(
    'bad_request',
    `row ${row}: not valid UTF-8 (byte ${byte}); send the file as UTF-8 (a GBK or Latin-1 export must be converted); nothing was stored`,
    `/${row}`,
    { row, byte },
  )
}

/** Offset of the first byte that doesn't start a complete, valid UTF-8 sequence (buf.length if none does). */
function firstInvalidUtf8(buf: Buffer): number {
  for (let i = 0; i < buf.length; ) {
    const b = buf[i]!
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (n === 0 || i + n > buf.length) return i
    for (let k = 1; k < n; k++) if ((buf[i + k]! & 0xc0) !== 0x80) return i
    const b1 = buf[i + 1] ?? 0x80
    // Overlong forms, UTF-16 surrogates, past U+10FFFF.
    if (
      (b === 0xe0 && b1 < 0xa0) ||
      (b === 0xed && b1 > 0x9f) ||
      (b === 0xf0 && b1 < 0x90) ||
      (b === 0xf4 && b1 > 0x8f)
    )
      return i
    i += n
  }
  return buf.length
}

/**
 * Counts the data rows a body's text has completed, cheaply, so a decoding failure can name its
 * row: NDJSON rows are lines; CSV rows are records (LF, CR or CRLF outside quotes), the header
 * not counted. Quotes toggle at any position (RFC 4180 input; the parser also keeps a quote
 * inside an unquoted field literally, where this count may differ).
 */
class RowCounter {
  private ended = 0
  private quoted = false
  private lastCr = false
  constructor(private readonly format: 'ndjson' | 'csv') {}

  see(text: string): void {
    if (this.format === 'ndjson') {
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.ended++
      return
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === 34) this.quoted = !this.quoted
      else if (!this.quoted && (c === 13 || (c === 10 && !this.lastCr))) this.ended++
      this.lastCr = c === 13
    }
  }

  /** 1-based number of the row being read (NDJSON line; CSV data row, header excluded). */
  current(): number {
    return this.format === 'ndjson' ? this.ended + 1 : this.ended
  }
}

/**
 * A data route's body, whatever its content type (app.ts hands JSON routes parsed bodies; the data
 * and import routes take every type as a stream): registered in the routes' own plugin, so no
 * other route sees it. SPEC names no media type for uploads, and clients send what their library
 * picks (`text/plain` from fetch, form-urlencoded from curl, `application/ndjson`, none).
 */
export function takeAnyBodyAsStream(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser(['application/json', 'text/plain'])
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload))
}

/**
 * The format of an upload: from its content type when that names one (NDJSON, JSON lines, CSV),
 * else from its first character that is not white space (after a BOM): `{` is NDJSON, anything
 * else CSV (a header row). The bytes read to see it are put back.
 */
export async function uploadFormat(req: FastifyRequest, stream: Readable): Promise<'ndjson' | 'csv'> {
  const ct = (req.headers['content-type'] ?? '').toLowerCase()
  if (ct.includes('ndjson') || ct.includes('jsonl') || ct.includes('json-seq')) return 'ndjson'
  if (ct.includes('csv')) return 'csv'
  const first = await firstCharacter(stream)
  return first === '{' ? 'ndjson' : 'csv'
}

/** The stream's first character that is not white space or a BOM ('' at its end), its bytes put back. */
async function firstCharacter(stream: Readable, maxBytes = 64 * 1024): Promise<string> {
  const seen: Buffer[] = []
  let bytes = 0
  let found = ''
  try {
    while (!found && bytes < maxBytes) {
      const chunk = stream.read() as Buffer | string | null
      if (chunk === null) {
        if (stream.readableEnded || stream.destroyed) break
        await new Promise<void>((resolve, reject) => {
          const done = () => {
            stream.off('readable', done)
            stream.off('end', done)
            stream.off('error', fail)
            resolve()
          }
          const fail = (e: Error) => {
            done()
            reject(e)
          }
          stream.once('readable', done)
          stream.once('end', done)
          stream.once('error', fail)
        })
        continue
      }
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      seen.push(buf)
      bytes += buf.length
      found = /[^\s\uFEFF]/.exec(Buffer.concat(seen).toString('utf8'))?.[0] ?? ''
    }
  } finally {
    if (seen.length) stream.unshift(Buffer.concat(seen))
  }
  return found
}

/** Reads a whole CSV body (an import file) up to `limitBytes` (BOM dropped). */
export async function readText(stream: Readable, limitBytes: number): Promise<string> {
  let out = ''
  for await (const t of textChunks(stream, limitBytes, 'csv')) out += t
  return out
}

/** A byte limit as people read it: `64 MiB` when it is whole mebibytes, else bytes. */
export function sizeWords(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`
}

/**
 * Rejects early from Content-Length, before any byte is read. `slackBytes`: what the body may
 * carry besides the limited content (multipart framing), not named in the message.
 */
export function checkContentLength(req: FastifyRequest, limitBytes: number, slackBytes = 0): void {
  const n = Number(req.headers['content-length'])
  if (Number.isFinite(n) && n > limitBytes + slackBytes)
    throw new LabelsError('too_large', `the body is larger than ${sizeWords(limitBytes)}`)
}

/** After a body was refused half-read: close the connection instead of reading the rest. */
export function abandonBody(req: FastifyRequest, reply: FastifyReply, stream: Readable): void {
  reply.header('connection', 'close')
  stream.resume()
  void req
}

/**
 * The raw body stream of a data upload (the content types app.ts leaves unparsed), or null when
 * the body was parsed (a JSON body sent to a data route) or is absent.
 */
export function bodyStream(req: FastifyRequest): Readable | null {
  return req.body instanceof Readable ? req.body : null
}

/** bodyStream, for a route that has already refused the other content types: 400 without a stream. */
export function requireBodyStream(req: FastifyRequest): Readable {
  const stream = bodyStream(req)
  if (!stream) throw new LabelsError('bad_request', 'the request has no body to read', '/body')
  return stream
}

/**
 * Sends a streamed reply (NDJSON, JSON written page by page, a CSV export): the route's response schema documents
 * what the stream holds, but a stream passes as is, so it goes out through the untyped reply.
 */
export function sendStream(reply: FastifyReply, stream: Readable): FastifyReply {
  return reply.send(stream)
}
