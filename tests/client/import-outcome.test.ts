import { describe, expect, it } from 'vitest'
import { ApiError } from '../../client/api/http.ts'
import {
  fileSize,
  importOutcome,
  partlyListed,
  rowName,
  rowsText,
} from '../../client/features/labels/import-outcome.ts'

describe('import outcome', () => {
  it('reports a stored file with its count and mode', () => {
    expect(
      importOutcome({ report: { runId: 'r1', imported: 30, errors: [], committed: true }, mode: 'merge' }),
    ).toEqual({ kind: 'stored', imported: 30, mode: 'merge', skipped: { count: 0, atLeast: false }, listed: [] })
  })

  it('counts skipped rows by invalidRows, beyond the listed ones', () => {
    const listed = Array.from({ length: 100 }, (_, i) => ({ row: i + 1, reason: 'bad' }))
    const o = importOutcome({
      report: { runId: 'r1', imported: 7, errors: listed, committed: true, invalidRows: 250 },
      mode: 'replace',
    })
    expect(o).toEqual({ kind: 'stored', imported: 7, mode: 'replace', skipped: { count: 250, atLeast: false }, listed })
    if (o.kind !== 'stored') throw new Error('not stored')
    expect(rowsText(o.skipped)).toBe('250 rows')
    expect(partlyListed(o.skipped, o.listed)).toBe(true)
    // All listed: no "first 100" note.
    const two = [
      { row: 2, reason: 'x' },
      { row: 3, reason: 'y' },
    ]
    const all = importOutcome({
      report: { runId: 'r1', imported: 2, errors: two, committed: true, invalidRows: 2 },
      mode: 'replace',
    })
    expect(all.kind === 'stored' && [rowsText(all.skipped), partlyListed(all.skipped, all.listed)]).toEqual([
      '2 rows',
      false,
    ])
  })

  it('without invalidRows, counts the listed rows and says "at least" when the list is full', () => {
    const listed = Array.from({ length: 100 }, (_, i) => ({ row: i + 1, reason: 'bad' }))
    const o = importOutcome({ report: { runId: 'r1', imported: 7, errors: listed, committed: true }, mode: 'replace' })
    expect(o.kind === 'stored' && o.skipped).toEqual({ count: 100, atLeast: true })
    expect(o.kind === 'stored' && rowsText(o.skipped)).toBe('at least 100 rows')
    const one = importOutcome({
      report: { runId: 'r1', imported: 7, errors: [{ row: 4, reason: 'bad' }], committed: true },
      mode: 'replace',
    })
    expect(one.kind === 'stored' && rowsText(one.skipped)).toBe('1 row')
  })

  it("lists the rows of a 400 answer's details, with the server's message", () => {
    const errors = [
      { row: 2, reason: 'unknown user_id "x"' },
      { row: 3, reason: '"maybe" is not a boolean' },
    ]
    const e = new ApiError(400, 'bad_request', '2 invalid row(s); nothing was imported', '/body', {
      errors,
      runId: 'r2',
      invalidRows: 2,
    })
    expect(importOutcome({ error: e })).toEqual({
      kind: 'rejected',
      message: '2 invalid row(s); nothing was imported',
      invalid: { count: 2, atLeast: false },
      listed: errors,
    })
    const many = new ApiError(400, 'bad_request', '340 invalid row(s); nothing was imported', '/body', {
      errors,
      runId: 'r2',
      invalidRows: 340,
    })
    const o = importOutcome({ error: many })
    expect(o.kind === 'rejected' && [o.invalid, partlyListed(o.invalid, o.listed)]).toEqual([
      { count: 340, atLeast: false },
      true,
    ])
  })

  it('shows any other refusal as its message and status, and a dropped connection as its message', () => {
    expect(
      importOutcome({ error: new ApiError(422, 'invalid', 'only import labels take files', '/params/label') }),
    ).toEqual({ kind: 'failed', message: 'only import labels take files (HTTP 422)' })
    expect(
      importOutcome({
        error: new ApiError(413, 'too_large', 'the file is larger than 10 bytes', undefined, { errors: 'not rows' }),
      }),
    ).toEqual({ kind: 'failed', message: 'the file is larger than 10 bytes (HTTP 413)' })
    expect(importOutcome({ error: new ApiError(0, 'network', 'the upload failed') })).toEqual({
      kind: 'failed',
      message: 'the upload failed',
    })
    expect(importOutcome({ error: new TypeError('boom') })).toEqual({ kind: 'failed', message: 'boom' })
  })

  it('names rows and sizes for people', () => {
    expect(rowName(7)).toBe('7')
    expect(rowName(0)).toBe('whole file')
    expect([fileSize(900), fileSize(2048), fileSize(3 * 1024 * 1024)]).toEqual(['900 B', '2.0 KB', '3.0 MB'])
  })
})
