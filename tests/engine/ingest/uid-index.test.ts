import { afterEach, beforeEach, expect, it } from 'vitest'
import { Ingestor } from '../../../engine/ingest/index.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { addEvent, addTimeIndexes, lockCatalogue } from '../../../engine/storage/extend.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

/**
 * Event tables are indexed by uid (issue 9: explain reads one customer's events), whether the
 * table comes from a bulk load, is created empty, or predates the index (migrate adds it). On
 * Citus the event_id key (uid, event_id) serves instead.
 */
async function ingestEvents(db: SqlExecutor, users: number, perUser: number): Promise<void> {
  const lines: string[] = []
  for (let u = 0; u < users; u++)
    for (let k = 0; k < perUser; k++)
      lines.push(JSON.stringify({ user_id: `u${u}`, event: 'buy', time: `2025-01-0${1 + (k % 9)}T00:00:00Z`, n: k }))
  const ing = new Ingestor(db, 'events', 'ndjson')
  await ing.push(`${lines.join('\n')}\n`)
  expect(await ing.finish()).toMatchObject({ committed: true, inserted: users * perUser })
}

async function tableOf(db: SqlExecutor, event: string): Promise<string> {
  const t = (await loadCatalogue(db)).events.get(event)?.table
  if (!t) throw new Error(`no table for ${event}`)
  return t
}

/** Index names of a table, sorted. */
async function indexes(db: SqlExecutor, table: string): Promise<string[]> {
  const r = await db.query<{ i: string }>(
    `SELECT indexname AS i FROM pg_indexes WHERE tablename = $1 AND schemaname = current_schema() ORDER BY 1`,
    [table],
  )
  return r.rows.map((x) => x.i)
}

describeEachDb('event tables indexed by uid', (kind) => {
  let db: TestDb
  beforeEach(async () => {
    db = await newDb(kind)
    await migrate(db)
  })
  afterEach(async () => {
    await db.dispose()
  })
  const uidIndex = (t: string) => (kind === 'citus' ? `${t}_event_id_key` : `${t}_uid`)

  it('a bulk-loaded event table gets the index, and one customer is read through it', async () => {
    await ingestEvents(db, 2000, 6)
    const t = await tableOf(db, 'buy')
    expect(await indexes(db, t)).toContain(uidIndex(t))
    if (kind === 'citus') return // the plan is the workers'
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT * FROM ${t} WHERE uid = 42`)
    const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n')
    expect(text).toContain(`${t}_uid`)
    expect(text).not.toContain('Seq Scan')
  })

  it('an event table created empty gets it before its first rows', async () => {
    const t = await db.transaction(async (tx) => {
      await lockCatalogue(tx)
      return addEvent(tx, 'visit')
    })
    expect(await indexes(db, t)).toContain(uidIndex(t))
  })

  it('migrate adds it to event tables stored before it existed, once', async () => {
    if (kind === 'citus') return // nothing is added there
    await ingestEvents(db, 50, 2)
    const t = await tableOf(db, 'buy')
    await db.exec(`DROP INDEX ${t}_uid`)
    expect(await indexes(db, t)).not.toContain(`${t}_uid`)
    await migrate(db)
    expect(await indexes(db, t)).toContain(`${t}_uid`)
    await migrate(db)
    expect(await indexes(db, t)).toContain(`${t}_uid`)
  })

  it('is not indexed by time until addTimeIndexes, which builds the missing ones once', async () => {
    await ingestEvents(db, 40, 3)
    const t = await tableOf(db, 'buy')
    const v = await db.transaction(async (tx) => {
      await lockCatalogue(tx)
      return addEvent(tx, 'visit')
    })
    // A bulk load and an empty table alike: the first incremental run builds it (calc/execute-run.ts).
    expect(await indexes(db, t)).not.toContain(`${t}_time`)
    expect(await indexes(db, v)).not.toContain(`${v}_time`)
    const built = await addTimeIndexes(db)
    if (kind === 'citus') {
      expect(built.tables).toEqual([]) // no run is incremental there
      return
    }
    expect(built.tables.sort()).toEqual([t, v].sort())
    expect(await indexes(db, t)).toContain(`${t}_time`)
    expect(await indexes(db, v)).toContain(`${v}_time`)
    expect((await addTimeIndexes(db)).tables).toEqual([])
    // A day's range can be read through it (at 120 rows the planner prefers a scan unless told not to).
    const plan = await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL enable_seqscan = off')
      return tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT uid FROM ${t} WHERE time >= '2025-01-03' AND time < '2025-01-04'`,
      )
    })
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain(`${t}_time`)
  })

  it('builds each missing index by time once when several callers ask at once', async () => {
    if (kind === 'citus') return
    await ingestEvents(db, 30, 2)
    const v = await db.transaction(async (tx) => {
      await lockCatalogue(tx)
      return addEvent(tx, 'visit')
    })
    // On PostgreSQL each call takes its own connection of the pool, as processes sharing the database would.
    const calls = await Promise.all([addTimeIndexes(db), addTimeIndexes(db), addTimeIndexes(db)])
    const built = calls.flatMap((c) => c.tables).sort()
    expect(built).toEqual([await tableOf(db, 'buy'), v].sort())
  })
})
