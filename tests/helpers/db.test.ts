import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb, newDb, type TestDb } from './db.ts'

describeEachDb('SqlExecutor adapters', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
  })
  afterAll(async () => {
    await db.dispose()
  })

  it('binds values as parameters and returns numbers for bigint', async () => {
    const r = await db.query<{ n: number; s: string }>(
      'SELECT count(*) AS n, $1::text AS s FROM generate_series(1,3)',
      ["x'; DROP TABLE y; --"],
    )
    expect(r.rows).toEqual([{ n: 3, s: "x'; DROP TABLE y; --" }])
  })

  it('rolls a failed transaction back', async () => {
    await db.exec('CREATE TABLE t (x int)')
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (1)')
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')
    expect(r.rows[0]?.n).toBe(0)
  })
})
