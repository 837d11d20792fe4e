import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

describeEachDb('text results keep a leading U+FEFF', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
  })
  afterAll(() => db.dispose())

  const roundTrip = async () => {
    const r = await db.query<{ p: string; lit: string; n: number }>(
      `SELECT $1::text AS p, E'\\uFEFFlit' AS lit, length($1::text) AS n`,
      ['\uFEFFx'],
    )
    expect(r.rows).toEqual([{ p: '\uFEFFx', lit: '\uFEFFlit', n: 2 }])
  }

  it('as a parameter and as a literal', roundTrip)

  it('still after a query error (PGlite builds a new protocol parser then)', async () => {
    await expect(db.query('SELECT 1/0')).rejects.toThrow()
    await roundTrip()
  })
})
