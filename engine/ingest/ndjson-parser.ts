import { maxRecordChars, RecordTooLarge } from './record-limit.ts'

/** One NDJSON line: its 1-based line number and its text (blank lines are not yielded). */
export interface NdjsonLine {
  line: number
  text: string
}

/** The complete lines of a chunk: `lines[i]` is line `first + i`, trimmed ('' when blank). */
export interface NdjsonLines {
  first: number
  lines: string[]
}

/**
 * Splits a stream of text chunks into lines; chunks may split anywhere. A leading BOM is
 * dropped. A line longer than `maxLine` characters throws RecordTooLarge as soon as it is seen
 * to be (its text is never kept whole).
 */
export class NdjsonParser {
  constructor(private readonly maxLine = maxRecordChars) {}
  private rest = ''
  private line = 0
  private started = false; // the semicolon keeps `*push` below from parsing as a multiplication

  /** Parses a chunk, yielding every non-blank line it completes. */
  *push(chunk: string): Generator<NdjsonLine> {
    yield* numbered(this.split(chunk))
  }

  /** Ends the input, yielding a last line without a newline. */
  *end(): Generator<NdjsonLine> {
    yield* numbered(this.splitEnd())
  }

  /** The lines a chunk completes, in one array (no object per line: the hot path of big uploads). */
  split(chunk: string): NdjsonLines {
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    const out: NdjsonLines = { first: this.line + 1, lines: [] }
    const max = this.maxLine
    let nl = chunk.indexOf('\n')
    if (nl < 0) {
      if (this.rest.length + chunk.length > max) throw new RecordTooLarge(this.line + 1, max)
      this.rest += chunk
      return out
    }
    if (this.rest.length + nl > max) throw new RecordTooLarge(this.line + 1, max)
    out.lines.push(trimmed(this.rest + chunk.slice(0, nl)))
    let start = nl + 1
    for (nl = chunk.indexOf('\n', start); nl >= 0; nl = chunk.indexOf('\n', start)) {
      if (nl - start > max) throw new RecordTooLarge(this.line + out.lines.length + 1, max)
      out.lines.push(trimmed(chunk.slice(start, nl)))
      start = nl + 1
    }
    if (chunk.length - start > max) throw new RecordTooLarge(this.line + out.lines.length + 1, max)
    this.rest = chunk.slice(start)
    this.line += out.lines.length
    return out
  }

  /** Ends the input: a last line without a newline, if any. */
  splitEnd(): NdjsonLines {
    const out: NdjsonLines = { first: this.line + 1, lines: [] }
    if (this.rest !== '') out.lines.push(trimmed(this.rest))
    this.rest = ''
    this.line += out.lines.length
    return out
  }
}

/** A line that is `{…}` has nothing to trim: skip trim's scan and copy for it. */
function trimmed(text: string): string {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125 ? text : text.trim()
}

function* numbered({ first, lines }: NdjsonLines): Generator<NdjsonLine> {
  for (let i = 0; i < lines.length; i++) if (lines[i] !== '') yield { line: first + i, text: lines[i] as string }
}
