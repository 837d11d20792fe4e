import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPglite, smallPgliteConf } from '../../../engine/adapters/pglite.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { tablesDue, vacuumDue } from '../../../engine/storage/vacuum.ts'
import { createSqlDocStore } from '../../../server/collab/doc-store.ts'
import { dbKinds, describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * Autovacuum's job on PGlite, which has none (engine/storage/vacuum.ts): tables past autovacuum's
 * default threshold of dead rows are vacuumed, a TOAST table's dead chunks included; on PostgreSQL
 * nothing is done (autovacuum runs there). The collaboration store and the engine's runs call it.
 */

/** Dead rows of a table as the statistics say, after flushing this backend's. */
async function dead(db: SqlExecutor, table: string): Promise<{ dead: number; vacuumed: boolean }> {
  await db.query('SELECT pg_stat_force_next_flush()')
  const r = await db.query<{ dead: number; vacuumed: boolean }>(
    `SELECT n_dead_tup::int AS dead, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_all_tables
      WHERE relid = to_regclass($1)`,
    [table],
  )
  return r.rows[0] ?? { dead: -1, vacuumed: false }
}

const quoted = async (db: SqlExecutor, table: string) =>
  (await db.query<{ q: string }>(`SELECT format('%I.%I', current_schema(), $1::text) AS q`, [table])).rows[0]!.q

describeEachDb('vacuuming where autovacuum is missing', (kind) => {
  let db: TestDb
  if (kind === 'citus') {
    it('does nothing on Citus: autovacuum runs on every node', async () => {
      const c = await newDb(kind)
      try {
        expect(await vacuumDue(c)).toEqual([])
      } finally {
        await c.dispose()
      }
    })
    return
  }
  beforeAll(async () => {
    db = await newDb(kind)
    await db.exec(`CREATE TABLE churn (id int PRIMARY KEY, v text);
      CREATE TABLE calm (id int PRIMARY KEY, v text);
      CREATE TABLE blob (id int PRIMARY KEY, b bytea)`)
    await db.exec(`INSERT INTO churn SELECT g, 'x' || g FROM generate_series(1, 2000) g;
      INSERT INTO calm SELECT g, 'x' || g FROM generate_series(1, 2000) g`)
    await db.exec(`ALTER TABLE churn SET (autovacuum_enabled = off); ALTER TABLE calm SET (autovacuum_enabled = off);
      ALTER TABLE blob SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)`)
    await db.exec(`DELETE FROM churn WHERE id <= 1000; UPDATE calm SET v = 'y' WHERE id <= 100`)
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('finds the tables past 50 + 20% of their live rows in dead ones, a TOAST table counting for its owner', async () => {
    // A large value stored out of line, replaced three times: 3 dead rows in the table (below the
    // threshold) but hundreds of dead chunks in its TOAST table.
    await db.query('INSERT INTO blob VALUES (1, $1)', [new Uint8Array(randomBytes(200_000))])
    for (let i = 0; i < 3; i++)
      await db.query('UPDATE blob SET b = $1 WHERE id = 1', [new Uint8Array(randomBytes(200_000))])
    const due = await tablesDue(db)
    expect(due).toContain(await quoted(db, 'churn'))
    expect(due).toContain(await quoted(db, 'blob'))
    expect(due).not.toContain(await quoted(db, 'calm')) // 100 dead for 2,000 live: under 450
  })

  if (kind === 'postgres') {
    it('does nothing on PostgreSQL: autovacuum does it there', async () => {
      expect(await vacuumDue(db)).toEqual([])
      expect((await dead(db, 'churn')).vacuumed).toBe(false)
    })
    return
  }

  it('vacuums them on PGlite, and only them', async () => {
    const done = await vacuumDue(db)
    expect(done).toContain(await quoted(db, 'churn'))
    expect(done).toContain(await quoted(db, 'blob'))
    expect(await dead(db, 'churn')).toEqual({ dead: 0, vacuumed: true })
    expect(await dead(db, 'calm')).toEqual({ dead: 100, vacuumed: false })
    expect(await tablesDue(db)).not.toContain(await quoted(db, 'blob'))
    // Nothing left to do: a second call vacuums nothing of ours.
    expect((await vacuumDue(db)).filter((t) => !t.startsWith('pg_catalog.'))).toEqual([])
  })
})

/** PGlite-only blocks: skipped when the run asks for other engines only (CI's Citus pass). */
const onPglite = describe.skipIf(!dbKinds().includes('pglite'))

onPglite('the collaboration store on PGlite', () => {
  let dir = ''
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'labels-vacuum-'))
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('keeps a bounded size however many snapshots replace each other', async () => {
    const db = await openPglite(join(dir, 'collab'), { conf: smallPgliteConf })
    try {
      const store = await createSqlDocStore(db)
      const snapshot = new Uint8Array(randomBytes(256_000)) // incompressible, like a stand-in document
      let seq = 0
      for (let c = 0; c < 30; c++) {
        for (let i = 0; i < 5; i++) seq = await store.append('w', new Uint8Array(randomBytes(100)))
        await store.compact('w', snapshot, seq)
      }
      const size = await db.query<{ n: number }>(
        `SELECT (pg_total_relation_size('collab_snapshots') + pg_total_relation_size('collab_updates'))::int AS n`,
      )
      // Without vacuuming every replaced snapshot stays: 30 × 256 kB ≈ 7.7 MB.
      expect(size.rows[0]!.n).toBeLessThan(5 * snapshot.length)
      const back = await store.load('w')
      expect(back.snapshot).toEqual(snapshot)
    } finally {
      await db.close()
    }
  })
})

onPglite('the engine on PGlite', () => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb('pglite')
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('vacuums what needs it before a run', async () => {
    const svc = new EngineService(db)
    await svc.migrate()
    await ingestUserRecords(
      db,
      Array.from({ length: 300 }, (_, i) => ({ user_id: `u${i}`, properties: { tier: i % 3 } })),
    )
    await ingestEventRecords(db, [
      { event: 'buy', user_id: 'u1', event_id: 'e1', time: '2024-03-01T10:00:00Z', properties: {} },
    ])
    // Customers deleted by hand: their rows are dead until vacuumed.
    await db.exec(`DELETE FROM users WHERE user_id <> 'u1'`)
    expect((await dead(db, 'users')).dead).toBeGreaterThan(250)
    const run = await svc.createRun({
      labelId: 'buyers',
      trigger: 'manual',
      asOf: '2024-03-02T00:00:00Z',
      definition: { dataType: 'number', rule: { method: 'metric', event: 'buy', measure: { agg: 'count' } } },
    })
    const done = await svc.executeRun(run.id, { tz: 'UTC' })
    expect(done.status, done.error).toBe('succeeded')
    expect(await dead(db, 'users')).toEqual({ dead: 0, vacuumed: true })
  })
})
