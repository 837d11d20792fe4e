import { afterAll, beforeAll, expect, it } from 'vitest'
import { readCurrent } from '../../../engine/read/label-state.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, importRows, newService, type Fixture } from '../calc/fixture.ts'

describeEachDb('reading through the results pointer', (kind) => {
  let f: Fixture
  beforeAll(async () => {
    f = await newService(kind)
    await addUsers(f.db, 3)
  })
  afterAll(() => f.dispose())

  it('a reader whose table is dropped by a swap re-resolves and reads the new complete results', async () => {
    await importRows(f.svc, 'L', 'string', [
      ['u1', 'old'],
      ['u2', 'old'],
    ])
    const tables: string[] = []
    const values = await readCurrent(f.db, 'L', async (s) => {
      tables.push(s.table)
      // A swap lands between resolving the pointer and reading the table.
      if (tables.length === 1)
        await importRows(f.svc, 'L', 'string', [
          ['u1', 'new'],
          ['u2', 'new'],
          ['u3', 'new'],
        ])
      const r = await f.db.query<{ value: string }>(`SELECT value FROM ${s.table} ORDER BY uid`)
      return r.rows.map((x) => x.value)
    })
    expect(tables).toHaveLength(2)
    expect(tables[0]).not.toBe(tables[1])
    expect(values).toEqual(['new', 'new', 'new'])
  })

  it('other errors are not retried', async () => {
    let calls = 0
    await expect(
      readCurrent(f.db, 'L', async () => {
        calls++
        await f.db.query('SELECT 1/0')
      }),
    ).rejects.toThrow(/division by zero/)
    expect(calls).toBe(1)
  })
})
