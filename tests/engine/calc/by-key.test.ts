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

/** One node of an EXPLAIN text plan: its first line and its child nodes, outer first. */
interface PlanNode {
  text: string
  children: PlanNode[]
}

/** The nodes of an EXPLAIN text plan (its `->` lines nested by indentation; property lines skipped). */
function planTree(plan: string): PlanNode {
  const root: PlanNode = { text: '', children: [] }
  const open: Array<{ indent: number; node: PlanNode }> = [{ indent: -1, node: root }]
  for (const [i, line] of plan.split('\n').entries()) {
    const m = /^(\s*)->\s+(.*)$/.exec(line)
    if (!m && i > 0) continue // a node's Filter, Hash Cond… lines
    const indent = m ? (m[1] as string).length : 0
    const node: PlanNode = { text: m ? (m[2] as string) : line.trim(), children: [] }
    while ((open.at(-1) as { indent: number }).indent >= indent) open.pop()
    ;(open.at(-1) as { node: PlanNode }).node.children.push(node)
    open.push({ indent, node })
  }
  return root
}

/**
 * The statement's CTEs a Nested Loop reads again for every row of its outer side (its inner side a
 * CTE Scan, or a Materialize of one): with thousands of rows on both sides that is millions of row
 * visits, the plan a low row estimate can pick (the UPDATE's `uid = ANY (ARRAY(…))` is counted
 * as 10 rows whatever the array holds).
 */
function rescannedCtes(node: PlanNode): string[] {
  const inner = node.text.startsWith('Nested Loop') ? node.children[1] : undefined
  const scanned = inner?.text.startsWith('Materialize') ? inner.children[0] : inner
  const cte = scanned && /^CTE Scan on (\w+)/.exec(scanned.text)?.[1]
  return [...(cte ? [cte] : []), ...node.children.flatMap(rescannedCtes)]
}

it('finds a CTE rescanned under a nested loop in an EXPLAIN text plan', () => {
  const plan = [
    'Update on res_1 r  (cost=1.00..2.00 rows=10 width=10)',
    '  CTE changed_rows',
    '    ->  Seq Scan on diff  (cost=0.00..1.00 rows=1 width=8)',
    '  ->  Nested Loop  (cost=1.00..2.00 rows=10 width=10)',
    '        Join Filter: (r.uid = x.uid)',
    '        ->  Index Scan using res_1_pkey on res_1 r  (cost=0.29..1.00 rows=10 width=10)',
    '              Index Cond: (uid = ANY ($1))',
    '        ->  CTE Scan on changed_rows x  (cost=0.00..1.00 rows=1 width=8)',
    '  ->  Nested Loop  (cost=1.00..2.00 rows=10 width=10)',
    '        ->  CTE Scan on changed_rows y  (cost=0.00..1.00 rows=1 width=8)',
    '        ->  Index Scan using res_1_pkey on res_1 q  (cost=0.29..1.00 rows=1 width=10)',
  ].join('\n')
  expect(rescannedCtes(planTree(plan))).toEqual(['changed_rows'])
  expect(rescannedCtes(planTree(plan.replace('CTE Scan on changed_rows x', 'Index Scan using x_pkey on x')))).toEqual(
    [],
  )
})

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
      // Nor does any join read one of its CTEs again per row (the UPDATE's changed rows, say).
      const tree = planTree(plan)
      expect(rescannedCtes(tree), `${l.id}:\n${plan}`).toEqual([])
      // The plan was read as a tree: its UPDATE and its nested loops (the customers' look-ups) are nodes of it.
      const nodes = (n: PlanNode): PlanNode[] => [n, ...n.children.flatMap(nodes)]
      expect(nodes(tree).some((n) => /^Update on res_\d+/.test(n.text))).toBe(true)
      expect(nodes(tree).filter((n) => n.text.startsWith('Nested Loop')).length, plan).toBeGreaterThan(0)
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
