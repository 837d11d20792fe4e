import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { BytesBlob, openPglite } from '../../../engine/adapters/pglite.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'

/**
 * PGlite's COPY reads the batch as `/dev/blob` from the blob a query is given. The adapter hands it
 * the batch's own bytes: a `new Blob([data])` copied each batch into native memory that V8 does not
 * count, and a 1 GiB ingestion kept ~600 MB of them alive until a late collection (the soak's
 * peak RSS while a 1 GiB body streams in, `npm run bench -- soak`).
 */
let db: SqlExecutor
beforeAll(async () => {
  db = await openPglite()
  await db.exec('CREATE TABLE t (n int, s text)')
})
afterAll(async () => {
  await db.close()
})

/** COPY … WITH (FORMAT binary) data for rows of (int4, text). */
function binaryRows(rows: Array<[number, string]>): Uint8Array {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]
  for (const [n, s] of rows) {
    const head = Buffer.alloc(2 + 4 + 4 + 4)
    head.writeInt16BE(2, 0)
    head.writeInt32BE(4, 2)
    head.writeInt32BE(n, 6)
    const text = Buffer.from(s, 'utf8')
    head.writeInt32BE(text.length, 10)
    parts.push(head, text)
  }
  const end = Buffer.alloc(2)
  end.writeInt16BE(-1, 0)
  parts.push(end)
  return new Uint8Array(Buffer.concat(parts))
}

it('gives PGlite the batch bytes themselves, not a copy, and the rows arrive whole', async () => {
  const data = binaryRows([
    [1, 'a'],
    [2, 'ü北京'],
    [3, ''],
  ])
  const seen: unknown[] = []
  const spy = vi.spyOn(PGlite.prototype, 'query')
  spy.mockImplementation(async function (this: PGlite, ...args: Parameters<PGlite['query']>) {
    seen.push(args[2]?.blob)
    spy.mockRestore()
    return this.query(...args)
  } as PGlite['query'])
  try {
    expect(await db.copyFrom!("COPY t (n, s) FROM '/dev/blob' WITH (FORMAT binary)", data)).toBe(3)
  } finally {
    spy.mockRestore()
  }
  expect(seen).toHaveLength(1)
  expect(seen[0]).toBeInstanceOf(Blob)
  expect(await (seen[0] as Blob).arrayBuffer()).toBe(data.buffer) // the same memory: nothing copied
  expect((await db.query('SELECT n, s FROM t ORDER BY n')).rows).toEqual([
    { n: 1, s: 'a' },
    { n: 2, s: 'ü北京' },
    { n: 3, s: '' },
  ])
})

it('a view into a larger buffer is handed over as just its bytes', async () => {
  const whole = new Uint8Array([9, 1, 2, 3, 9])
  const view = whole.subarray(1, 4)
  const blob = new BytesBlob(view)
  expect(blob.size).toBe(3)
  expect([...new Uint8Array(await blob.arrayBuffer())]).toEqual([1, 2, 3])
  const exact = new Uint8Array([4, 5])
  expect(await new BytesBlob(exact).arrayBuffer()).toBe(exact.buffer)
})
