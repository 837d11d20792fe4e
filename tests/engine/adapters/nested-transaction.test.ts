import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

describeEachDb('nested transactions run under savepoints', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await db.exec('CREATE TABLE t (k text PRIMARY KEY)')
  })
  afterAll(() => db.dispose())
  beforeEach(() => db.exec('DELETE FROM t'))

  const keys = async () => (await db.query<{ k: string }>('SELECT k FROM t ORDER BY k')).rows.map((r) => r.k)
  const put = (tx: { query: TestDb['query'] }, k: string) => tx.query('INSERT INTO t (k) VALUES ($1)', [k])

  it('an inner SQL failure the caller catches leaves the outer transaction able to commit', async () => {
    await db.transaction(async (tx) => {
      await put(tx, 'outer-1')
      await expect(
        tx.transaction(async (inner) => {
          await put(inner, 'inner')
          await put(inner, 'outer-1') // duplicate key: aborts everything back to the savepoint
        }),
      ).rejects.toMatchObject({ code: '23505' })
      await put(tx, 'outer-2')
    })
    expect(await keys()).toEqual(['outer-1', 'outer-2'])
  })

  it('an inner JS throw rolls back only the inner work', async () => {
    await db.transaction(async (tx) => {
      await put(tx, 'a')
      await tx
        .transaction(async (inner) => {
          await put(inner, 'b')
          throw new Error('changed my mind')
        })
        .catch(() => {})
      await put(tx, 'c')
    })
    expect(await keys()).toEqual(['a', 'c'])
  })

  it('a successful inner transaction commits with the outer one, and is undone when the outer one fails', async () => {
    await db.transaction(async (tx) => {
      await tx.transaction((inner) => put(inner, 'kept'))
    })
    await expect(
      db.transaction(async (tx) => {
        await tx.transaction((inner) => put(inner, 'gone'))
        throw new Error('outer fails')
      }),
    ).rejects.toThrow('outer fails')
    expect(await keys()).toEqual(['kept'])
  })

  it('nests several levels; each failure stops at its own level', async () => {
    const out = await db.transaction(async (tx) => {
      await put(tx, 'l1')
      return tx.transaction(async (t2) => {
        await put(t2, 'l2')
        await t2
          .transaction(async (t3) => {
            await put(t3, 'l3')
            throw new Error('level 3 fails')
          })
          .catch(() => {})
        await t2.transaction((t3) => put(t3, 'l3-again'))
        return 'done'
      })
    })
    expect(out).toBe('done')
    expect(await keys()).toEqual(['l1', 'l2', 'l3-again'])
  })

  it('two nested transactions at once on one connection are refused, not interleaved', async () => {
    await db.transaction(async (tx) => {
      const first = tx.transaction((inner) => put(inner, 'first'))
      await expect(tx.transaction((inner) => put(inner, 'second'))).rejects.toThrow(/one at a time/)
      await first
    })
    expect(await keys()).toEqual(['first'])
  })
})
