import { afterAll, beforeAll, expect, it } from 'vitest'
import { ingestEventRecords } from '../../../engine/ingest/index.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { distinctShare, RECOUNT_SHARE, tellUidShare } from '../../../engine/storage/uid-stats.ts'
import { describeEachDb, explainJson, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * An event table's customers told to the planner exactly (engine/storage/uid-stats.ts): after a
 * load that refreshes its statistics, the `uid` column's n_distinct is the counted share, and the
 * planner estimates a grouping by customer at the real number of customers, where ANALYZE's sample
 * falls short.
 */

const uidOption = async (db: SqlExecutor, table: string): Promise<string | null> => {
  const r = await db.query<{ opts: string[] | null }>(
    `SELECT attoptions AS opts FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'uid'`,
    [table],
  )
  return (r.rows[0]?.opts ?? []).find((o) => o.startsWith('n_distinct=')) ?? null
}

/** The planner's estimate of the groups of `SELECT uid … GROUP BY uid` over the table. */
const estimatedCustomers = async (db: SqlExecutor, table: string): Promise<number> =>
  Number((await explainJson(db, `SELECT uid, count(*) FROM ${table} GROUP BY uid`))['Plan Rows'])

const tableOf = async (db: SqlExecutor, event: string): Promise<string> => {
  const r = await db.query<{ tbl: string }>(`SELECT tbl FROM catalogue_events WHERE name = $1`, [event])
  return r.rows[0]?.tbl as string
}

it('distinctShare is minus the customers per row, at most -1, and nothing for an empty table', () => {
  expect(distinctShare(2_000, 20_000)).toBe(-0.1)
  expect(distinctShare(5, 5)).toBe(-1)
  expect(distinctShare(7, 3)).toBe(-1)
  expect(distinctShare(0, 0)).toBeNull()
  expect(distinctShare(0, 10)).toBeNull()
})

describeEachDb("an event table's customers", (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
  })
  afterAll(async () => {
    await db?.dispose()
  })

  // 2,000 customers with 12 events each, listed customer by customer as the demo files are: 24,000
  // rows, over the 10,000 of a load that refreshes statistics.
  const customers = 2_000
  const each = 12
  const load = (prefix: string, n: number, per: number, day: string) =>
    ingestEventRecords(
      db,
      Array.from({ length: n * per }, (_, i) => ({
        user_id: `${prefix}${Math.floor(i / per)}`,
        event: 'view',
        time: `${day}T${String(i % 24).padStart(2, '0')}:00:00Z`,
        properties: { price: i % 97 },
      })),
    )

  if (kind === 'citus') {
    it('are left to ANALYZE on Citus (no option set)', async () => {
      await load('c', customers, each, '2025-03-01')
      const table = await tableOf(db, 'view')
      expect(await uidOption(db, table)).toBeNull()
      expect(await tellUidShare(db, table)).toBe('citus')
    })
    return
  }

  const analysed = async (table: string) => {
    await db.exec(`ANALYZE ${table}`)
    return tellUidShare(db, table)
  }

  it('are counted after a load, and the planner estimates a grouping by customer at that count', async () => {
    const r = await load('c', customers, each, '2025-03-01')
    expect(r.stored).toBe(customers * each)
    const table = await tableOf(db, 'view')
    expect(await uidOption(db, table)).toBe(`n_distinct=${(-1 / each).toFixed(6)}`)
    // 24,000 × 0.083333 = 2,000 (rounded by the planner).
    expect(Math.abs((await estimatedCustomers(db, table)) - customers)).toBeLessThanOrEqual(1)
    expect(await analysed(table)).toBe('kept')
  })

  it('keeps the counted share through small loads, and counts again once they add RECOUNT_SHARE of the rows', async () => {
    const table = await tableOf(db, 'view')
    const before = await uidOption(db, table)
    // New customers with one event each, appended after the others (so still listed customer by customer).
    let next = 1
    const add = async (n: number) => {
      await db.query(
        `INSERT INTO ${table} (seq, uid, time)
         SELECT 10000000 + g, 10000000 + g, '2025-03-02T00:00:00Z' FROM generate_series(${next}, ${next + n - 1}) g`,
      )
      next += n
    }
    // 25,000 rows, under 24,000 × (1 + RECOUNT_SHARE) = 26,400: kept.
    expect(25_000 < (1 + RECOUNT_SHARE) * customers * each).toBe(true)
    await add(1_000)
    expect(await analysed(table)).toBe('kept')
    expect(await uidOption(db, table)).toBe(before)
    // 26,500 rows, in two loads each under the share: counted again, 4,500 customers.
    await add(1_500)
    expect(await analysed(table)).toBe('counted')
    expect(await uidOption(db, table)).toBe(`n_distinct=${(-4_500 / 26_500).toFixed(6)}`)
    const meta = await db.query<{ value: { rows: number; uids: number } }>(`SELECT value FROM meta WHERE key = $1`, [
      `uid_share:${table}`,
    ])
    expect(meta.rows[0]?.value).toEqual({ rows: 26_500, uids: 4_500 })
  })

  it('are counted through ingestion again when a load adds enough rows', async () => {
    const table = await tableOf(db, 'view')
    // 10,000 more customers with one event each: a load that refreshes statistics, and 36,500 rows
    // of 14,500 customers.
    await load('n', 10_000, 1, '2025-03-03')
    expect(await uidOption(db, table)).toBe(`n_distinct=${(-14_500 / 36_500).toFixed(6)}`)
    expect(Math.abs((await estimatedCustomers(db, table)) - 14_500)).toBeLessThanOrEqual(1)
  })

  it('are counted for a table in time order too', async () => {
    // Each second's event from the next customer in turn: a customer's rows all over the table.
    await ingestEventRecords(
      db,
      Array.from({ length: customers * each }, (_, i) => ({
        user_id: `c${i % customers}`,
        event: 'tap',
        time: new Date(Date.parse('2025-03-01T00:00:00Z') + i * 1000).toISOString(),
      })),
    )
    const tap = await tableOf(db, 'tap')
    const r = await db.query<{ c: number }>(
      `SELECT correlation::float8 AS c FROM pg_stats WHERE tablename = $1 AND attname = 'uid' AND schemaname = current_schema()`,
      [tap],
    )
    expect(Math.abs(Number(r.rows[0]?.c))).toBeLessThan(0.2)
    expect(await uidOption(db, tap)).toBe(`n_distinct=${(-1 / each).toFixed(6)}`)
    expect(Math.abs((await estimatedCustomers(db, tap)) - customers)).toBeLessThanOrEqual(1)
  })

  it('refuses a name that is not an event table', async () => {
    await expect(tellUidShare(db, 'users; DROP TABLE users')).rejects.toThrow(/unexpected event table/)
  })
})
