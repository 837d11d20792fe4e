import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { tapped } from '../../helpers/tapped.ts'
import { ASOF, runCompiled, runLabelAt, sortedEntries, storedResults } from '../../helpers/rule-data.ts'

/**
 * An incremental run computes a few customers of many (engine/calc/incremental.ts). It reads them
 * from `users` and their stored values from the label's result table by key
 * (engine/compiler/emitter.ts byKey, lookUp), not by a scan of either table: PostgreSQL planned the
 * former `uid IN (SELECT uid FROM labels_affected)` and joins with it as a scan of every row once
 * a few thousand customers were listed. The plan of each run's one statement (compute, compare
 * with the stored rows, write the difference: calc/result-swap.ts applyChanges) is taken with
 * EXPLAIN just before it runs, in its transaction; the results are checked against the label's
 * statement over everyone.
 */

const DAY = 86_400_000
const tz = 'UTC'
const USERS = 20_000
/** Customers with a late purchase (computed again from their events) and with one appended after the first run. */
const LATE = 2_000
const APPENDED = 2_000

const labels: Array<{ id: string; def: Definition }> = [
  {
    id: 'custom',
    def: {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'gold buyer',
            when: {
              all: [
                { attribute: 'tier', op: 'eq', value: 'gold' },
                { event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' }, op: 'gte', value: 1 },
              ],
            },
          },
          {
            value: 'buyer',
            when: { event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' }, op: 'gte', value: 1 },
          },
        ],
      },
    } as Definition,
  },
  {
    id: 'count',
    def: {
      dataType: 'number',
      rule: { method: 'metric', event: 'purchase', window: { lastDays: 30 }, measure: { agg: 'count' } },
    } as Definition,
  },
  {
    id: 'sum',
    def: {
      dataType: 'number',
      rule: {
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 30 },
        measure: { agg: 'sum', property: 'amount' },
      },
    } as Definition,
  },
  {
    id: 'last',
    def: {
      dataType: 'string',
      rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'product' },
    } as Definition,
  },
]

/** `db` with the plan of every in-place write statement (`WITH run_values …`) pushed to `plans` before it runs. */
function explaining(db: SqlExecutor, plans: string[]): SqlExecutor {
  return tapped(db, {
    async statement(sql, params, target) {
      if (!sql.trimStart().startsWith('WITH run_values')) return
      const p = await target.query<Record<string, string>>(`EXPLAIN ${sql}`, params)
      plans.push(p.rows.map((r) => Object.values(r)[0]).join('\n'))
    },
  })
}

describeEachDb('an incremental run reads its customers and their stored values by key', (kind) => {
  let db: TestDb

  beforeAll(async () => {
    db = await newDb(kind)
    await new EngineService(db).migrate()
    if (db.citus) return // no change log there: every run computes everyone (storage/changes.ts)
    const tiers = ['gold', 'silver', 'bronze']
    const users = Array.from({ length: USERS }, (_, i) => ({
      user_id: `u${i}`,
      properties: { tier: tiers[i % 3] as string },
    }))
    expect((await ingestUserRecords(db, users)).committed).toBe(true)
    const purchases = users.map((u, i) => ({
      user_id: u.user_id,
      event: 'purchase',
      time: new Date(ASOF.getTime() - (1 + (i % 20)) * DAY).toISOString(),
      properties: { amount: 1 + (i % 50), product: `p${i % 7}` },
    }))
    expect((await ingestEventRecords(db, purchases)).committed).toBe(true)
  }, 120_000)
  afterAll(async () => {
    await db?.dispose()
  })

  it('reads neither users nor the result table whole (its UPDATE included), and gives the results of a run over everyone', async () => {
    if (db.citus) return // no change log there: every run computes everyone (storage/changes.ts)
    const svc = new EngineService(db, { resultWrites: 'auto', incremental: 'always' })
    const run = async (service: EngineService, asOf: Date) => {
      for (const l of labels) await runLabelAt(service, l, asOf, tz)
    }
    await run(svc, ASOF)
    // Late purchases (before the first run's asOf) and purchases appended after it, 4,000 customers.
    const purchase = (i: number, time: number) => ({
      user_id: `u${i}`,
      event: 'purchase',
      time: new Date(time).toISOString(),
      properties: { amount: 7, product: 'late' },
    })
    const more = [
      ...Array.from({ length: LATE }, (_, k) => purchase(5 * k, ASOF.getTime() - 3 * DAY)),
      ...Array.from({ length: APPENDED }, (_, k) => purchase(5 * k + 1, ASOF.getTime() + 3_600_000)),
    ]
    expect((await ingestEventRecords(db, more)).committed).toBe(true)
    const plans: string[] = []
    const asOf = new Date(ASOF.getTime() + DAY)
    await run(new EngineService(explaining(db, plans), { resultWrites: 'auto', incremental: 'always' }), asOf)
    expect(plans).toHaveLength(labels.length)
    const cat = await loadCatalogue(db)
    for (const [i, l] of labels.entries()) {
      const plan = plans[i] as string
      expect(plan, `${l.id}: written in place`).toMatch(/Update on res_\d+/)
      // Including the UPDATE of the changed rows, which finds them by key too.
      expect(plan.match(/Seq Scan on (users|res_\d+)\b.*/g) ?? [], `${l.id}:\n${plan}`).toEqual([])
      const r = await db.query<{ n: number | null }>(
        `SELECT recomputed_users AS n FROM runs WHERE label_id = $1 ORDER BY created_at DESC LIMIT 1`,
        [l.id],
      )
      const n = Number(r.rows[0]?.n)
      expect(n, `${l.id}: restricted`).toBeGreaterThanOrEqual(LATE)
      expect(n).toBeLessThan(0.3 * USERS)
      const all = await runCompiled(db, compileRule(l.def, { catalogue: cat, asOf, tz }))
      expect(sortedEntries(await storedResults(db, l.id)), l.id).toEqual(sortedEntries(all))
    }
  }, 240_000)
})
