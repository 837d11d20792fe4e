import { expect, it } from 'vitest'
import { toLabelsError } from '../../server/http/error-handler.ts'

/**
 * A full or read-only data directory surfaces as PostgreSQL's disk_full (53100, "could not extend
 * file … No space left on device"), read_only_sql_transaction (25006), io_error (58030), or
 * Node's ENOSPC/EROFS/EDQUOT. Those answer 503 unavailable saying so, not 500 "internal error"
 * (an ingestion into a full disk answered 500; tests/faults/disk.test.ts does it for real).
 */
it('storage failures answer 503 unavailable naming the cause', () => {
  const pg = Object.assign(new Error('could not extend file "base/5/16530": No space left on device'), {
    code: '53100',
    severity: 'ERROR',
  })
  const node = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 })
  const ro = Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' })
  for (const e of [
    pg,
    node,
    ro,
    { name: 'error', message: 'could not write to file: Input/output error', code: '58030' },
  ]) {
    const l = toLabelsError(e)
    expect(l.status, String((e as Error).message)).toBe(503)
    expect(l.code).toBe('unavailable')
    expect(l.message).toMatch(/storage/)
    expect(l.message).toContain((e as Error).message)
  }
  // Other database errors stay internal (their text is not shown).
  expect(toLabelsError(Object.assign(new Error('division by zero'), { code: '22012' })).status).toBe(500)
})
