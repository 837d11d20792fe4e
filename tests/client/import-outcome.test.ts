import { describe, expect, it } from 'vitest'
import { ApiError } from '../../client/api/http.ts'
import { fileSize, importOutcome, rowName } from '../../client/features/labels/import-outcome.ts'

describe('import outcome', () => {
  it('reports a stored file with its count and mode', () => {
    expect(importOutcome({ report: { runId: 'r1', imported: 30, errors: [], committed: true }, mode: 'merge' })).toEqual({ kind: 'stored', imported: 30, mode: 'merge', skipped: [] })
  })

  it("lists the rows of a 400 answer's details, with the server's message", () => {
    const errors = [{ row: 2, reason: 'unknown user_id "x"' }, { row: 3, reason: '"maybe" is not a boolean' }]
    const e = new ApiError(400, 'bad_request', '2 invalid row(s); nothing was imported', '/body', { errors, runId: 'r2' })
    expect(importOutcome({ error: e })).toEqual({ kind: 'rejected', message: '2 invalid row(s); nothing was imported', errors })
  })

  it('shows any other refusal as its message and status, and a dropped connection as its message', () => {
    expect(importOutcome({ error: new ApiError(422, 'invalid', 'only import labels take files', '/params/label') })).toEqual({ kind: 'failed', message: 'only import labels take files (HTTP 422)' })
    expect(importOutcome({ error: new ApiError(413, 'too_large', 'the file is larger than 10 bytes', undefined, { errors: 'not rows' }) })).toEqual({ kind: 'failed', message: 'the file is larger than 10 bytes (HTTP 413)' })
    expect(importOutcome({ error: new ApiError(0, 'network', 'the upload failed') })).toEqual({ kind: 'failed', message: 'the upload failed' })
    expect(importOutcome({ error: new TypeError('boom') })).toEqual({ kind: 'failed', message: 'boom' })
  })

  it('names rows and sizes for people', () => {
    expect(rowName(7)).toBe('7')
    expect(rowName(0)).toBe('whole file')
    expect([fileSize(900), fileSize(2048), fileSize(3 * 1024 * 1024)]).toEqual(['900 B', '2.0 KB', '3.0 MB'])
  })
})
