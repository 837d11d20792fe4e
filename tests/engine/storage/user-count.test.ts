import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ingestUserRecords } from '../../../engine/ingest/index.ts'
import { openPostgres } from '../../../engine/adapters/pg.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { compactUserCount, countUsers } from '../../../engine/storage/user-count.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * The kept customer count (engine/storage/user-count.ts): every way customers come and go —
 * ingestion's upserts, deletions, SQL by hand, rolled-back savepoints, TRUNCATE — leaves
 * countUsers equal to `count(*)` of the same snapshot, before and after compaction.
 */

const counted = async (db: SqlExecutor) =>
  Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]?.n)
const keptRows = async (db: SqlExecutor) =>
  Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM user_count')).rows[0]?.n)

describeEachDb('the kept customer count', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
  })
  afterAll(async () => {
    await db?.dispose()
  })

  if (kind === 'citus') {
    // Citus won't distribute a table with triggers: the count is count(*), run on the workers.
    it('is count(*) on Citus, with no count table or triggers on users', async () => {
      await ingestUserRecords(
        db,
        Array.from({ length: 30 }, (_, i) => ({ user_id: `z${i}`, properties: { tier: i } })),
      )
      await db.query(`DELETE FROM users WHERE user_id IN ('z1', 'z2')`)
      expect(await countUsers(db)).toBe(28)
      const r = await db.query<{ t: string | null }>(`SELECT to_regclass('user_count')::text AS t`)
      expect(r.rows[0]?.t ?? null).toBeNull()
      expect(await compactUserCount(db)).toBe(false)
    })
    return
  }

  it('is what countUsers reads, and follows ingestion, upserts and deletions', async () => {
    await ingestUserRecords(
      db,
      Array.from({ length: 50 }, (_, i) => ({ user_id: `u${i}`, properties: { tier: i % 3 } })),
    )
    expect(await countUsers(db)).toBe(50)
    // The same customers again (an upsert changes attributes, not the count), plus 10 new ones.
    await ingestUserRecords(
      db,
      Array.from({ length: 60 }, (_, i) => ({ user_id: `u${i}`, properties: { tier: 7 } })),
    )
    expect(await counted(db)).toBe(60)
    expect(await countUsers(db)).toBe(60)
    await db.query(`DELETE FROM users WHERE user_id IN ('u1', 'u2', 'u3')`)
    expect(await countUsers(db)).toBe(57)
    // Read from the kept rows, not counted: a stray row shows in the answer.
    await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO user_count (n) VALUES (1000)')
        expect(await countUsers(tx)).toBe(1057)
        throw new Error('roll back')
      })
      .catch((e: Error) => expect(e.message).toBe('roll back'))
    expect(await countUsers(db)).toBe(57)
  })

  it('equals count(*) through random writes, savepoints, TRUNCATE and compaction', async () => {
    type Op =
      | { op: 'insert'; ids: number[] }
      | { op: 'upsert'; ids: number[] }
      | { op: 'delete'; mod: number }
      | { op: 'rolledBack'; ids: number[] }
      | { op: 'truncate' }
      | { op: 'compact' }
    const ids = fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 })
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: ids.map((ids) => ({ op: 'insert' as const, ids })) },
      { weight: 2, arbitrary: ids.map((ids) => ({ op: 'upsert' as const, ids })) },
      { weight: 2, arbitrary: fc.integer({ min: 2, max: 9 }).map((mod) => ({ op: 'delete' as const, mod })) },
      { weight: 1, arbitrary: ids.map((ids) => ({ op: 'rolledBack' as const, ids })) },
      { weight: 1, arbitrary: fc.constant({ op: 'truncate' as const }) },
      { weight: 1, arbitrary: fc.constant({ op: 'compact' as const }) },
    )
    const insert = (tx: SqlExecutor, ids: number[], conflict: string) =>
      tx.query(`INSERT INTO users (user_id) SELECT DISTINCT 'r' || x FROM unnest($1::int[]) x ${conflict}`, [ids])
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        await db.exec('DELETE FROM users')
        await compactUserCount(db)
        for (const o of ops) {
          if (o.op === 'insert') await insert(db, o.ids, 'ON CONFLICT (user_id) DO NOTHING')
          else if (o.op === 'upsert')
            await insert(db, o.ids, 'ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id')
          else if (o.op === 'delete') await db.query(`DELETE FROM users WHERE uid % $1 = 0`, [o.mod])
          else if (o.op === 'truncate') await db.exec('TRUNCATE users CASCADE')
          else if (o.op === 'compact') {
            await compactUserCount(db)
            const r = await db.query<{ unknown: boolean }>(`SELECT bool_or(n IS NULL) AS unknown FROM user_count`)
            expect(r.rows[0]?.unknown ?? false).toBe(false)
          } else
            await db.transaction(async (tx) => {
              await tx
                .transaction(async (sp) => {
                  await insert(sp, o.ids, 'ON CONFLICT (user_id) DO NOTHING')
                  await sp.query(`DELETE FROM users WHERE uid % 2 = 0`)
                  throw new Error('rolled back')
                })
                .catch(() => undefined)
              await insert(tx, o.ids.slice(0, 3), 'ON CONFLICT (user_id) DO NOTHING')
            })
          expect(await countUsers(db), JSON.stringify(o)).toBe(await counted(db))
        }
        await compactUserCount(db)
        expect(await countUsers(db)).toBe(await counted(db))
      }),
      { numRuns: kind === 'pglite' ? 25 : 15, seed: 4242 },
    )
  })

  it('compacts its rows into one sum once there are many', async () => {
    await db.exec('DELETE FROM users')
    for (let i = 0; i < 70; i++) await db.query(`INSERT INTO users (user_id) VALUES ($1)`, [`c${i}`])
    expect(await keptRows(db)).toBeGreaterThan(64)
    expect(await compactUserCount(db)).toBe(true)
    expect(await keptRows(db)).toBe(1)
    expect(await countUsers(db)).toBe(70)
    expect(await compactUserCount(db)).toBe(false)
  })

  it('a database that had customers before the count existed starts from count(*)', async () => {
    await db.exec(`DROP TRIGGER users_count_insert ON users; DROP TRIGGER users_count_delete ON users;
      DROP TRIGGER users_count_truncate ON users; DROP TABLE user_count;`)
    await db.query(`INSERT INTO users (user_id) SELECT 'old' || x FROM generate_series(1, 25) x`)
    const before = await counted(db)
    expect(await countUsers(db)).toBe(before) // not migrated yet: counted
    await migrate(db)
    expect(await keptRows(db)).toBe(1)
    expect(await countUsers(db)).toBe(before)
    await db.query(`INSERT INTO users (user_id) VALUES ('old-new')`)
    expect(await countUsers(db)).toBe(before + 1)
  })

  it("a run's summary counts the customers it ran over, through a TRUNCATE and after compaction", async () => {
    const svc = new EngineService(db)
    await svc.migrate()
    await ingestUserRecords(db, [{ user_id: 'seen', properties: { tier: 1 } }])
    const def = {
      dataType: 'string' as const,
      rule: {
        method: 'custom' as const,
        values: [{ value: 'one', when: { attribute: 'tier', op: 'eq' as const, value: 1 } }],
      },
    }
    const runOnce = async () => {
      const run = await svc.createRun({
        labelId: 'uc',
        trigger: 'manual',
        asOf: new Date().toISOString(),
        definition: def,
      })
      const done = await svc.executeRun(run.id, { tz: 'UTC' })
      expect(done.status, done.error ?? '').toBe('succeeded')
      const st = await db.query<{ n: number }>(`SELECT total_users AS n FROM label_state WHERE label_id = 'uc'`)
      return st.rows[0]?.n
    }
    await db.exec('TRUNCATE users CASCADE') // the count is unknown until compaction: counted meanwhile
    await ingestUserRecords(
      db,
      Array.from({ length: 40 }, (_, i) => ({ user_id: `s${i}`, properties: { tier: i % 2 } })),
    )
    expect(await runOnce()).toBe(40)
    await compactUserCount(db)
    expect(await keptRows(db)).toBe(1)
    await db.query(`DELETE FROM users WHERE user_id IN ('s0', 's1')`)
    expect(await runOnce()).toBe(38)
  })

  if (kind === 'postgres')
    it('writers never wait on each other for it, and each snapshot sees its own count', async () => {
      const other = await openPostgres(process.env.TEST_DATABASE_URL as string, {
        max: 2,
        schema: (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s,
      })
      try {
        const base = await counted(db)
        await db.transaction(async (a) => {
          await a.query(`INSERT INTO users (user_id) VALUES ('wa1'), ('wa2')`)
          // Another writer commits while this one is open: with one counter row it would wait.
          await other.transaction(async (b) => {
            await b.exec(`SET LOCAL lock_timeout = '3s'`)
            await b.query(`INSERT INTO users (user_id) VALUES ('wb1')`)
          })
          expect(await countUsers(a)).toBe(base + 3)
          expect(await countUsers(other)).toBe(base + 1) // a's rows are not committed
        })
        await other.transaction(async (r) => {
          await r.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
          expect(await countUsers(r)).toBe(base + 3)
          await db.query(`INSERT INTO users (user_id) VALUES ('wc1')`)
          expect(await countUsers(r)).toBe(await counted(r))
          expect(await countUsers(r)).toBe(base + 3)
        })
        expect(await countUsers(db)).toBe(base + 4)
      } finally {
        await other.close()
      }
    })
})
