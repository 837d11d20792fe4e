import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CsvParser, UnterminatedQuote } from '../../../engine/ingest/csv-parser.ts'
import { NdjsonParser } from '../../../engine/ingest/ndjson-parser.ts'

function splitAt(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  const out: string[] = []
  let prev = 0
  for (const p of points) {
    out.push(text.slice(prev, p))
    prev = p
  }
  out.push(text.slice(prev))
  return out
}

function parseCsv(chunks: string[]) {
  const p = new CsvParser()
  const out = chunks.flatMap((c) => [...p.push(c)])
  return [...out, ...p.end()]
}

function parseNdjson(chunks: string[]) {
  const p = new NdjsonParser()
  const out = chunks.flatMap((c) => [...p.push(c)])
  return [...out, ...p.end()]
}

const tricky =
  '\uFEFFuser_id,note,city\r\nu1,"hello, ""world""",Paris\r\n"u2","two\nlines\r\nhere",\n\nu3,plain "quote",Lyon\nu4,"",""'

describe('CSV parser', () => {
  it('reads quotes, doubled quotes, embedded newlines, CRLF, a BOM and empty cells', () => {
    expect(parseCsv([tricky])).toEqual([
      { record: 1, fields: ['user_id', 'note', 'city'] },
      { record: 2, fields: ['u1', 'hello, "world"', 'Paris'] },
      { record: 3, fields: ['u2', 'two\nlines\r\nhere', ''] },
      { record: 4, fields: [''] },
      { record: 5, fields: ['u3', 'plain "quote"', 'Lyon'] },
      { record: 6, fields: ['u4', '', ''] },
    ])
  })

  it('gives the same records however the input is split into chunks', () => {
    const whole = parseCsv([tricky])
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        expect(parseCsv(splitAt(tricky, cuts))).toEqual(whole)
      }),
      { numRuns: 500, seed: 42 },
    )
  })

  it('round-trips arbitrary fields written with RFC 4180 quoting, split anywhere', () => {
    const cell = fc.string({ unit: fc.constantFrom('a', 'b', ',', '"', '\n', '\r', ' ', 'é', '😀') })
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (rows, cuts) => {
          const text = rows.map((r) => r.map(quote).join(',')).join('\r\n')
          expect(parseCsv(splitAt(text, cuts)).map((r) => r.fields)).toEqual(rows)
        },
      ),
      { numRuns: 300, seed: 7 },
    )
  })

  it('reports an unterminated quote', () => {
    expect(() => parseCsv(['a,b\n1,"open'])).toThrow(UnterminatedQuote)
  })
})

describe('NDJSON parser', () => {
  const text = '\uFEFF{"user_id":"u1"}\r\n\n  {"user_id":"u2","properties":{"s":"a\\nb"}}\n{"user_id":"ü😀"}'
  it('yields non-blank lines with their line numbers, dropping a BOM and CR', () => {
    expect(parseNdjson([text])).toEqual([
      { line: 1, text: '{"user_id":"u1"}' },
      { line: 3, text: '{"user_id":"u2","properties":{"s":"a\\nb"}}' },
      { line: 4, text: '{"user_id":"ü😀"}' },
    ])
  })
  it('gives the same lines however the input is split into chunks', () => {
    const whole = parseNdjson([text])
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        expect(parseNdjson(splitAt(text, cuts))).toEqual(whole)
      }),
      { numRuns: 500, seed: 3 },
    )
  })
})
