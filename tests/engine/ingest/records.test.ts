import { afterEach, beforeEach, expect, it } from 'vitest'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { describeSchema, loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

describeEachDb('ingestion of records', (kind) => {
  let db: TestDb
  beforeEach(async () => {
    db = await newDb(kind)
    await migrate(db)
  })
  afterEach(async () => {
    await db.dispose()
  })

  async function userRows() {
    const cat = await loadCatalogue(db)
    const cols = [...cat.users.values()]
    const r = await db.query<Record<string, unknown>>(
      `SELECT user_id${cols.map((c) => `, ${c.column} AS "${c.column}"`).join('')} FROM users ORDER BY user_id`,
    )
    return r.rows.map((row) =>
      Object.fromEntries([['user_id', row.user_id], ...cols.map((c) => [c.name, row[c.column]])]),
    )
  }

  it('infers attribute types on first sight and stores typed columns', async () => {
    const r = await ingestUserRecords(db, [
      { user_id: 'u1', properties: { city: 'Paris', age: 31, vip: true, joined: '2024-03-01' } },
      { user_id: 'u2', properties: { city: 'Lyon', age: 40 } },
    ])
    expect(r).toMatchObject({ committed: true, inserted: 2, updated: 0, stored: 2, errors: [] })
    expect(describeSchema(await loadCatalogue(db)).userAttributes).toEqual([
      { name: 'city', type: 'string' },
      { name: 'age', type: 'number' },
      { name: 'vip', type: 'boolean' },
      { name: 'joined', type: 'date' },
    ])
    expect(await userRows()).toEqual([
      { user_id: 'u1', city: 'Paris', age: 31, vip: true, joined: new Date('2024-03-01T00:00:00Z') },
      { user_id: 'u2', city: 'Lyon', age: 40, vip: null, joined: null },
    ])
  })

  it('merges a re-sent user: given attributes overwrite, absent ones keep their value', async () => {
    await ingestUserRecords(db, [{ user_id: 'u1', properties: { city: 'Paris', age: 31 } }])
    const r = await ingestUserRecords(db, [
      { user_id: 'u1', properties: { age: 32 } },
      { user_id: 'u2', properties: { city: 'Nice' } },
      { user_id: 'u2', properties: { age: 20 } },
    ])
    expect(r).toMatchObject({ committed: true, inserted: 1, updated: 1, stored: 2 })
    expect(await userRows()).toEqual([
      { user_id: 'u1', city: 'Paris', age: 32 },
      { user_id: 'u2', city: 'Nice', age: 20 },
    ])
  })

  it('stores nothing, not even new catalogue entries, when one row is bad', async () => {
    const r = await ingestUserRecords(db, [
      { user_id: 'u1', properties: { age: 31, city: 'Paris' } },
      { user_id: 'u2', properties: { age: 'abc' } },
      { user_id: '', properties: {} },
    ])
    expect(r.committed).toBe(false)
    expect(r.stored).toBe(0)
    expect(r.errors).toEqual([
      { row: 2, reason: expect.stringContaining('"age" (number)') },
      { row: 3, reason: 'missing user_id' },
    ])
    expect(await userRows()).toEqual([])
    expect(describeSchema(await loadCatalogue(db)).userAttributes).toEqual([])
  })

  it('stores the good rows and reports the bad ones with skipInvalid', async () => {
    const r = await ingestUserRecords(
      db,
      [
        { user_id: 'u1', properties: { age: 31 } },
        { user_id: 'u2', properties: { age: 'abc' } },
      ],
      { skipInvalid: true },
    )
    expect(r).toMatchObject({ committed: true, stored: 1, errors: [{ row: 2, reason: expect.any(String) }] })
    expect(await userRows()).toEqual([{ user_id: 'u1', age: 31 }])
  })

  it('appends events, creates unknown users and skips event_ids already stored', async () => {
    const events = [
      {
        user_id: 'a',
        event: 'purchase',
        time: '2024-05-01T10:00:00Z',
        event_id: 'e1',
        properties: { amount: 10.5, category: 'shoes' },
      },
      { user_id: 'b', event: 'purchase', time: '2024-05-02T10:00:00Z', event_id: 'e2', properties: { amount: 5 } },
      { user_id: 'a', event: 'app_open', time: new Date('2024-05-03T10:00:00Z'), event_id: 'e3' },
      { user_id: 'a', event: 'purchase', time: '2024-05-02T10:00:00Z', event_id: 'e2', properties: { amount: 5 } },
    ]
    const r1 = await ingestEventRecords(db, events)
    expect(r1).toMatchObject({ committed: true, inserted: 3, duplicates: 1 })
    const r2 = await ingestEventRecords(db, events)
    expect(r2).toMatchObject({ committed: true, inserted: 0, duplicates: 4 })
    const cat = await loadCatalogue(db)
    const purchase = cat.events.get('purchase')
    if (!purchase) throw new Error('no purchase table')
    const amount = purchase.properties.get('amount')?.column
    const rows = await db.query(
      `SELECT u.user_id, e.time, e.event_id, e.${amount} AS amount FROM ${purchase.table} e JOIN users u USING (uid) ORDER BY e.seq`,
    )
    expect(rows.rows).toEqual([
      { user_id: 'a', time: new Date('2024-05-01T10:00:00Z'), event_id: 'e1', amount: 10.5 },
      { user_id: 'b', time: new Date('2024-05-02T10:00:00Z'), event_id: 'e2', amount: 5 },
    ])
    expect((await userRows()).map((u) => u.user_id)).toEqual(['a', 'b'])
  })
})
