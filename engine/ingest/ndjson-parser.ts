/** One NDJSON line: its 1-based line number and its text (blank lines are not yielded). */
export interface NdjsonLine { line: number; text: string }

/** Splits a stream of text chunks into lines; chunks may split anywhere. A leading BOM is dropped. */
export class NdjsonParser {
  private rest = ''
  private line = 0
  private started = false; // the semicolon keeps `*push` below from parsing as a multiplication

  /** Parses a chunk, yielding every non-blank line it completes. */
  *push(chunk: string): Generator<NdjsonLine> {
    if (!this.started && chunk.length > 0) {
      this.started = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    let start = 0
    let nl = chunk.indexOf('\n')
    if (nl < 0) { this.rest += chunk; return }
    let head = this.rest + chunk.slice(0, nl)
    this.rest = ''
    for (;;) {
      const l = this.take(head)
      if (l) yield l
      start = nl + 1
      nl = chunk.indexOf('\n', start)
      if (nl < 0) break
      head = chunk.slice(start, nl)
    }
    this.rest = chunk.slice(start)
  }

  /** Ends the input, yielding a last line without a newline. */
  *end(): Generator<NdjsonLine> {
    const l = this.take(this.rest)
    this.rest = ''
    if (l) yield l
  }

  private take(text: string): NdjsonLine | null {
    this.line++
    // A line that is `{…}` has nothing to trim: skip trim's scan and copy for it.
    const t = text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125 ? text : text.trim()
    return t === '' ? null : { line: this.line, text: t }
  }
}
