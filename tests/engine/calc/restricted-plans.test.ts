import { afterAll, beforeAll, expect, it } from 'vitest'
import { compileWithCatalogue } from '../../../engine/service.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { AFFECTED_TABLE } from '../../../engine/calc/incremental.ts'
import { describeEachDb, explainJson, newDb, type PlanNode, type TestDb } from '../../helpers/db.ts'

/**
 * A restricted (incremental) statement aggregates each scope once, whatever the planner estimates.
 *
 * The customers an incremental run computes are those with events at its windows' edges, so far
 * more of them have rows in a window than the planner's estimate of a random set of that size.
 * Where it also knows an event table's real number of customers (engine/storage/uid-stats.ts),
 * it estimated a scope's rows for them at a few dozen, and a statement that joined the scopes to
 * each customer's looked-up row was planned with the scopes inside the look-up's loop: at 1M
 * events a custom label took 16.8 s instead of 0.24 s (README "Benchmarks", "Restricted statements
 * and the planner's estimates"). Here the same label at a small scale: customers who bought on the
 * day before asOf, most of them buying daily, and a custom label over five scopes of two event
 * tables (the compiler aggregates a table's scopes in one scan: compiler/emitter.ts).
 *
 * At this scale the planner estimated the scopes well enough to join them as a whole with either
 * join (the plan check passed on the old statement too, on PGlite and PostgreSQL, even with uid's
 * n_distinct forced to -1), so the statement's shape is checked as well: every scope joins the
 * computed customers' table, never the looked-up row, which is what fails on the old statement.
 */

const asOf = new Date('2025-06-01T00:00:00Z')
const customers = 20_000
const day = 86_400_000

/** The bench label whose restricted statement ran 16.8 s (bench_161 of the 1M refresh bench). */
const rule: Rule = {
  method: 'custom',
  values: [
    {
      value: 'vip',
      when: {
        all: [
          { event: 'purchase', window: { lastDays: 3 }, measure: { agg: 'days' }, op: 'gte', value: 10 },
          {
            event: 'purchase',
            window: { lastDays: 30 },
            measure: { agg: 'distinct', property: 'category' },
            op: 'lt',
            value: 10,
          },
        ],
      },
    },
    {
      value: 'lapsed',
      when: {
        all: [
          {
            event: 'purchase',
            window: { lastDays: 7 },
            measure: { agg: 'max', property: 'amount' },
            op: 'gte',
            value: 100,
          },
          { not: { event: 'app_open', window: { lastDays: 1 }, measure: { agg: 'days' }, op: 'lt', value: 3 } },
        ],
      },
    },
    {
      value: 'at_risk',
      when: {
        all: [
          {
            event: 'purchase',
            window: { lastDays: 180 },
            where: [{ property: 'amount', op: 'gte', value: 20 }],
            measure: { agg: 'sum', property: 'amount' },
            op: 'gte',
            value: 100,
          },
          { attribute: 'age', op: 'between', value: [25, 40] },
        ],
      },
    },
  ],
  otherwise: 'other',
} as Rule

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)]

describeEachDb('a restricted statement', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    if (kind === 'citus') return
    db = await newDb(kind)
    await migrate(db)
    await ingestUserRecords(
      db,
      Array.from({ length: customers }, (_, i) => ({ user_id: `c${i}`, properties: { age: 20 + (i % 30) } })),
    )
    // Every customer buys every 30 days over 180 days; one in forty also buys on each of the last
    // 12 days (they are nearly all the customers at the windows' edges), in the order a daily
    // export lists them.
    const events: Array<{ user_id: string; event: string; time: string; properties: Record<string, unknown> }> = []
    for (let d = 180; d >= 1; d--)
      for (let i = 0; i < customers; i++) {
        const regular = (i + d) % 30 === 0
        const active = i % 40 === 0 && d <= 12
        if (!regular && !active) continue
        const time = new Date(asOf.getTime() - d * day + (i % 1000) * 60_000).toISOString()
        events.push({
          user_id: `c${i}`,
          event: 'purchase',
          time,
          properties: { amount: (i * 7 + d) % 150, category: `k${(i + d) % 13}` },
        })
        if (active) events.push({ user_id: `c${i}`, event: 'app_open', time, properties: {} })
      }
    await ingestEventRecords(db, events)
  }, 120_000)
  afterAll(async () => {
    await db?.dispose()
  })

  // Citus computes everyone on every run (calc/incremental.ts): no restricted statements there.
  it.skipIf(kind === 'citus')('aggregates each scope once for the customers at the edges', async () => {
    await db.transaction(async (tx) => {
      // The purchases' table, as the catalogue names it.
      const purchases = (await tx.query<{ tbl: string }>(`SELECT tbl FROM catalogue_events WHERE name = 'purchase'`))
        .rows[0]?.tbl as string
      expect(purchases).toMatch(/^ev\d+$/)
      await tx.exec(`CREATE TEMP TABLE ${AFFECTED_TABLE} (uid int NOT NULL) ON COMMIT DROP`)
      const r = await tx.query(
        `INSERT INTO ${AFFECTED_TABLE} SELECT DISTINCT e.uid FROM ${purchases} e WHERE e.time >= $1::timestamptz AND e.time < $2::timestamptz`,
        [new Date(asOf.getTime() - day).toISOString(), asOf.toISOString()],
      )
      expect(r.affectedRows).toBeGreaterThanOrEqual(customers / 40)
      await tx.exec(`ANALYZE ${AFFECTED_TABLE}`)
      const c = await compileWithCatalogue(
        { dataType: 'string', rule },
        { db: tx, asOf, tz: 'UTC', only: AFFECTED_TABLE },
      )
      expect(c.only).toBe(AFFECTED_TABLE)
      // One scan per event table: the four purchase scopes in one, app_open's in the other.
      expect(c.sql.split(` FROM ${purchases} `).length - 1).toBe(1)
      const scopeJoins = [...c.sql.matchAll(/LEFT JOIN (s\d+) ON \1\.uid = ([a-z_]+\.uid)/g)]
      expect(scopeJoins.length).toBe(2)
      expect(new Set(scopeJoins.map((m) => m[2]))).toEqual(new Set(['u_only.uid']))
      const plan = nodes(await explainJson(tx, c.sql, c.params, { analyze: true }))
      const aggregates = plan.filter((n) => n['Node Type'] === 'Aggregate')
      expect(aggregates.length).toBeGreaterThanOrEqual(2)
      expect(aggregates.map((n) => n['Actual Loops'])).toEqual(aggregates.map(() => 1))
    })
  })
})
