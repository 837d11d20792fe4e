import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { LabelsError } from '../../shared/errors.ts'

/**
 * Decodes a request body stream as UTF-8 text chunks (BOM dropped, multi-byte characters
 * never split), failing with 413 as soon as `limitBytes` is passed.
 */
export async function* textChunks(stream: Readable, limitBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let bytes = 0
  // destroyOnReturn false: a refused body is left to abandonBody (drained, then the connection
  // closes), so the client still reads the 413 instead of a reset.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    bytes += buf.length
    if (bytes > limitBytes) throw new LabelsError('too_large', `the body is larger than ${limitBytes} bytes`)
    const text = decode(decoder, buf, true)
    if (text) yield text
  }
  const rest = decode(decoder, undefined, false)
  if (rest) yield rest
}

function decode(d: TextDecoder, buf: Buffer | undefined, stream: boolean): string {
  try {
    return d.decode(buf, { stream })
  } catch {
    throw new LabelsError('bad_request', 'the body is not valid UTF-8', '/body')
  }
}

/** Reads a whole text body up to `limitBytes` (BOM dropped). */
export async function readText(stream: Readable, limitBytes: number): Promise<string> {
  let out = ''
  for await (const t of textChunks(stream, limitBytes)) out += t
  return out
}

/** Rejects early from Content-Length, before any byte is read. */
export function checkContentLength(req: FastifyRequest, limitBytes: number): void {
  const n = Number(req.headers['content-length'])
  if (Number.isFinite(n) && n > limitBytes) throw new LabelsError('too_large', `the body is larger than ${limitBytes} bytes`)
}

/** After a body was refused half-read: close the connection instead of reading the rest. */
export function abandonBody(req: FastifyRequest, reply: FastifyReply, stream: Readable): void {
  reply.header('connection', 'close')
  stream.resume()
  void req
}
