import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { ingestEventRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { tapped } from '../../helpers/tapped.ts'
import { ASOF, ingestPurchasers } from '../../helpers/rule-data.ts'

/**
 * The statements a run sends, each a round trip to the database (~0.4 ms apiece on PostgreSQL
 * over TCP: ~40 of them were a quarter of an incremental day's refresh, README "Fewer round trips
 * per run"). A run's bookkeeping is folded into as few as it can be: the catalogue in one read,
 * the temporary tables prepared in one round trip each, the results lock taken once per
 * transaction, the history day replaced in one statement, the run's data snapshot recorded with its
 * success, the catalogue read once for both of an incremental run's compilations, the label's
 * current results read once (with its base), and a run written in place updating the results
 * pointer without reading it again. The budgets below are today's counts (a count 33, a custom
 * label 29; 36 and 32 before the last three, 48 and 43 before the first folding); a change that
 * adds a round trip to every run fails here with the list of what was sent.
 */

const DAY = 86_400_000
const USERS = 2_000

const labels: Array<{ id: string; def: Definition; budget: number }> = [
  {
    // A count: incremental, its delta form (stored value moved by the window's edges).
    id: 'count',
    budget: 33,
    def: {
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' } },
    } as Definition,
  },
  {
    // A custom label: incremental, restricted statement.
    id: 'custom',
    budget: 29,
    def: {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'buyer',
            when: { event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' }, op: 'gte', value: 1 },
          },
        ],
      },
    } as Definition,
  },
]

/** `db` with every statement sent through it pushed to `sent` (squeezed, cut short), and each transaction's begin and end. */
function counting(db: SqlExecutor, sent: string[]): SqlExecutor {
  return tapped(db, {
    statement: (sql) => void sent.push(sql.replace(/\s+/g, ' ').trim().slice(0, 100)),
    transaction: (edge) => void sent.push(edge === 'begin' ? '(begin)' : '(commit)'),
  })
}

describeEachDb('the round trips of a run', (kind) => {
  let db: TestDb

  beforeAll(async () => {
    db = await newDb(kind)
    await new EngineService(db).migrate()
    if (db.citus) return // no change log there: runs compute everyone and swap (storage/changes.ts)
    await ingestPurchasers(db, USERS, 40)
  }, 120_000)
  afterAll(async () => {
    await db?.dispose()
  })

  it('an incremental run sends no more statements than its budget', async () => {
    if (db.citus) return // no change log there: runs compute everyone and swap (storage/changes.ts)
    const sent: string[] = []
    // One service throughout: it prunes the change log now and then (the first run here), and the
    // first incremental run indexes the event tables by time (day 2 here); day 3 is counted.
    const svc = new EngineService(counting(db, sent), { resultWrites: 'auto', incremental: 'always' })
    const late = (day: number) =>
      Array.from({ length: 100 }, (_, k) => ({
        user_id: `u${7 * k + day}`,
        event: 'purchase',
        time: new Date(ASOF.getTime() + (day - 3) * DAY).toISOString(),
        properties: {},
      }))
    for (const day of [0, 1, 2]) {
      if (day > 0) expect((await ingestEventRecords(db, late(day))).committed).toBe(true)
      const asOf = new Date(ASOF.getTime() + day * DAY)
      for (const l of labels) {
        const run = await svc.createRun({
          labelId: l.id,
          trigger: 'schedule',
          asOf: asOf.toISOString(),
          definition: l.def,
        })
        sent.length = 0
        const done = await svc.executeRun(run.id, { tz: 'UTC' })
        expect(done.status, `${l.id}: ${done.error}`).toBe('succeeded')
        if (day < 2) continue
        const r = await db.query<{ n: number | null }>(`SELECT recomputed_users AS n FROM runs WHERE id = $1`, [run.id])
        expect(r.rows[0]?.n, `${l.id}: restricted to the changed customers`).not.toBeNull()
        expect(sent.length, `${l.id} sent ${sent.length}:\n${sent.join('\n')}`).toBeLessThanOrEqual(l.budget)
      }
    }
  }, 240_000)
})
