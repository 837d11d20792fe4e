import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { CHANGES_KEPT_DAYS, COMPACT_MIN_ROWS, pruneChanges } from '../../../engine/storage/changes.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { runCompiled, sortedEntries, storedResults } from '../../helpers/rule-data.ts'

/**
 * Pruning the change log (engine/storage/changes.ts): when it removes most of the log, the table is
 * rewritten with the kept rows only, unchanged, so runs' collections don't read the space of the
 * removed ones; a writer holding the log makes it delete instead of waiting or losing rows. Only
 * labels calculated in the last CHANGES_KEPT_DAYS hold the log (none: everything committed goes),
 * and a label older than that computes everyone at its next run, exactly.
 */

const DAY = 86_400_000
const tz = 'UTC'
const ASOF = new Date('2026-03-01T00:00:00Z')
const def: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'view', window: { lastDays: 30 }, measure: { agg: 'count' } },
}

/** `n` customers from `from` on, one view each, the day before ASOF. */
async function ingest(db: SqlExecutor, from: number, n: number, tag: string): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `c${from + i}`)
  await ingestUserRecords(
    db,
    ids.map((user_id) => ({ user_id, properties: { tier: 1 } })),
  )
  await ingestEventRecords(
    db,
    ids.map((user_id) => ({
      user_id,
      event: 'view',
      event_id: `${tag}-${user_id}`,
      time: new Date(ASOF.getTime() - DAY).toISOString(),
      properties: { page: tag },
    })),
  )
}

/** The log's rows, as text, in one order. */
async function logRows(db: SqlExecutor): Promise<string[]> {
  const r = await db.query<{ row: string }>(
    `SELECT concat_ws('|', xid::text, uid, since, tbl) AS row FROM data_changes ORDER BY xid, uid, tbl, since`,
  )
  return r.rows.map((x) => x.row)
}

/**
 * Waits until no transaction older than the log's last row is open anywhere on the server. A
 * snapshot's xmin is the oldest transaction running in the whole cluster, so another test file's
 * transaction (CI runs them side by side) would hold back what a run's snapshot sees as done and
 * hence what pruning may remove; PGlite has one connection, nothing to wait for.
 */
async function settle(db: SqlExecutor): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await db.query<{ ok: boolean }>(
      `SELECT coalesce(pg_snapshot_xmin(pg_current_snapshot()) > (SELECT max(xid) FROM data_changes), true) AS ok`,
    )
    if (r.rows[0]?.ok) return
    await new Promise((done) => setTimeout(done, 100))
  }
  throw new Error('a transaction of another session stayed open for 60 s: the log cannot be pruned meanwhile')
}

/** pruneChanges once no older transaction holds the log back (settle). */
async function prune(db: SqlExecutor): Promise<number> {
  await settle(db)
  return pruneChanges(db)
}

const logPages = async (db: SqlExecutor) =>
  Number((await db.query<{ n: string }>(`SELECT pg_relation_size('data_changes') / 8192 AS n`)).rows[0]?.n)

describeEachDb('pruning the change log', (kind) => {
  if (kind === 'citus') {
    // Citus won't distribute a table with triggers: no log, and every run computes everyone.
    it('keeps no log on Citus, and pruning does nothing', async () => {
      const c = await newDb(kind)
      try {
        await migrate(c)
        expect(await pruneChanges(c)).toBe(0)
        const r = await c.query<{ t: string | null }>(`SELECT to_regclass('data_changes')::text AS t`)
        expect(r.rows[0]?.t ?? null).toBeNull()
      } finally {
        await c.dispose()
      }
    })
    return
  }
  let db: TestDb
  let service: EngineService
  let day = 0
  beforeAll(async () => {
    db = await newDb(kind)
    // `always`: runs restricted whatever their lengths. Measured (the default), a busy machine can
    // make a restricted run of this tiny label slower than its full one (`slower`), and the next
    // run computes everyone where the test expects the changed customers only.
    service = new EngineService(db, { resultWrites: 'auto', incremental: 'always' })
    await service.migrate() // the storage's tables too
  })
  afterAll(async () => {
    await db?.dispose()
  })

  /** A run of `label` a day after the last run; checks its results against the whole statement. */
  const run = async (label = 'views') => {
    await settle(db)
    const asOf = new Date(ASOF.getTime() + day++ * DAY)
    const r = await service.createRun({
      labelId: label,
      trigger: 'schedule',
      asOf: asOf.toISOString(),
      definition: def,
    })
    const done = await service.executeRun(r.id, { tz })
    expect(done.status, done.error ?? '').toBe('succeeded')
    const all = await runCompiled(db, compileRule(def, { catalogue: await loadCatalogue(db), asOf, tz }))
    expect(sortedEntries(await storedResults(db, label))).toEqual(sortedEntries(all))
    const n = await db.query<{ n: number | null }>(`SELECT recomputed_users AS n FROM runs WHERE id = $1`, [r.id])
    return n.rows[0]?.n ?? null
  }

  it('with no label calculated yet, the first run prunes every change before it', async () => {
    // A new event type's table is filled before its triggers exist: only the users are logged.
    await ingest(db, 0, 100, 'a')
    expect((await logRows(db)).length).toBe(100)
    expect(await run()).toBeNull() // the service pruned before it: nothing to keep
    expect(await logRows(db)).toEqual([])
  })

  it('rewrites the log when it deletes most of it, keeping the other rows as they were', async () => {
    await ingest(db, 0, Math.ceil(COMPACT_MIN_ROWS / 2) + 500, 'a2') // a users row and an event row each
    await run()
    // Changes after the run's snapshot: the next run needs them.
    await ingest(db, 0, 7, 'b')
    await ingestUserRecords(db, [
      { user_id: 'c100', properties: { tier: 2 } },
      { user_id: 'c101', properties: { tier: 2 } },
    ])
    const all = await logRows(db)
    const pages = await logPages(db)
    const base = await db.query<{ x: string }>(
      `SELECT pg_snapshot_xmin(r.data_snapshot::pg_snapshot)::text AS x FROM label_state s JOIN runs r ON r.id = s.run_id`,
    )
    const xmin = BigInt(base.rows[0]?.x ?? '0')
    const kept = all.filter((row) => BigInt(row.split('|')[0] as string) >= xmin)
    expect(kept.length).toBeGreaterThan(0)

    const deleted = await prune(db)
    expect(deleted).toBe(all.length - kept.length)
    expect(deleted).toBeGreaterThanOrEqual(COMPACT_MIN_ROWS)
    expect(await logRows(db)).toEqual(kept)
    // DELETE alone leaves the table as large as before (the kept rows are its last ones).
    expect(await logPages(db)).toBeLessThanOrEqual(Math.max(2, Math.ceil(pages / 10)))

    // The next run reads the kept rows: the 9 changed customers (7 new views, 2 attributes).
    expect(await run()).toBe(9)
  })

  it('keeps logging after the rewrite, and prunes small deletions without one', async () => {
    await ingest(db, 50_000, 20, 'c')
    const before = await logRows(db)
    expect(before.length).toBeGreaterThanOrEqual(40)
    await run()
    const pages = await logPages(db)
    const deleted = await prune(db)
    expect(deleted).toBe(before.length)
    expect(deleted).toBeLessThan(COMPACT_MIN_ROWS)
    expect(await logRows(db)).toEqual([])
    expect(await logPages(db)).toBe(pages)
  })

  it(`a label calculated more than ${CHANGES_KEPT_DAYS} days ago no longer holds the log; its next run computes everyone`, async () => {
    expect(await run('stale')).toBeNull() // its first run
    await db.query(
      `UPDATE runs SET finished_at = finished_at - interval '${CHANGES_KEPT_DAYS + 1} days' WHERE label_id = 'stale'`,
    )
    await ingest(db, 300_000, 5, 'f')
    expect(await run()).toBe(5)
    // Only 'views' holds the log now, and its run read the 5 customers' changes.
    expect(await prune(db)).toBe(10)
    expect(await logRows(db)).toEqual([])
    // 'stale' would need them: it computes everyone, and its results are right (run checks them).
    expect(await run('stale')).toBeNull()
    // And its run says why (the run's fullRunReason).
    const why = await db.query<{ r: string | null }>(
      `SELECT full_run_reason AS r FROM runs WHERE label_id = 'stale' ORDER BY created_at DESC, id DESC LIMIT 1`,
    )
    expect(why.rows[0]?.r).toBe('stale')
    await ingest(db, 300_000, 2, 'g')
    expect(await run('stale')).toBe(2) // recent again: restricted
  })

  if (kind === 'postgres') {
    it('skips the rewrite, without waiting, while an ingestion holds the log; its rows stay', async () => {
      await ingest(db, 100_000, Math.ceil(COMPACT_MIN_ROWS / 2) + 500, 'd')
      await run()
      await run('stale') // both labels' results now include them
      const pages = await logPages(db)
      let deleted = -2
      await db.transaction(async (tx) => {
        await ingest(tx, 200_000, 3, 'e')
        // Another connection of the pool prunes while this transaction holds the log's lock.
        deleted = await prune(db) // its rows are not committed: not waited for
      })
      expect(deleted).toBeGreaterThanOrEqual(COMPACT_MIN_ROWS)
      expect(await logPages(db)).toBeGreaterThanOrEqual(pages)
      const rows = await logRows(db)
      expect(rows.filter((r) => r.endsWith('|users')).length).toBe(3)
      expect(rows.filter((r) => /\|ev\d+$/.test(r)).length).toBe(3)
      expect(await run()).toBe(3)
    })
  }
})
