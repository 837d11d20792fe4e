import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { compileRuleShared, planSharedScans } from '../../../engine/compiler/shared-scans.ts'
import { buildScans, scanColumns, scanCreatedAt } from '../../../engine/calc/refresh.ts'
import { ingestEventRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { tapped } from '../../helpers/tapped.ts'
import { ruleArb, type Def } from '../../helpers/rule-arbitraries.ts'
import { ASOF, generateData, loadData, runCompiled, sortedEntries, storedResults } from '../../helpers/rule-data.ts'

const DAY = 86_400_000

const tz = 'America/New_York'

/** Labels that surely share scans (several measures and windows over each table), then random ones. */
const fixed: Def[] = [
  {
    dataType: 'number',
    rule: { method: 'metric', event: 'purchase', window: { lastDays: 7 }, measure: { agg: 'count' } },
  },
  {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'purchase',
      window: { lastDays: 30 },
      measure: { agg: 'sum', property: 'amount' },
    },
  },
  {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'purchase',
      where: [{ property: 'product', op: 'in', value: ['apple', 'banana'] }],
      measure: { agg: 'avg', property: 'amount' },
    },
  },
  {
    dataType: 'string',
    rule: {
      method: 'distribution',
      event: 'purchase',
      window: { from: '2024-03-01', to: '2024-03-10' },
      measure: { agg: 'max', property: 'amount' },
      boundaries: [10, 100],
    },
  },
  {
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [
        {
          value: 'big',
          when: {
            all: [
              {
                event: 'purchase',
                window: { lastDays: 14 },
                measure: { agg: 'sum', property: 'amount' },
                op: 'gte',
                value: 100,
              },
              { not: { event: 'view', window: { lastDays: 3 }, op: 'gte', value: 1 } },
            ],
          },
        },
        {
          value: 'viewer',
          when: { event: 'view', where: [{ property: 'page', op: 'eq', value: 'cart' }], op: 'gte', value: 2 },
        },
      ],
      otherwise: 'other',
    },
  },
  {
    dataType: 'number',
    rule: { method: 'metric', event: 'view', window: { lastDays: 30 }, measure: { agg: 'min', property: 'duration' } },
  },
  {
    // three measures of one scope (purchases of the last 7 days), each in a scan table of its own
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [
        {
          value: 'regular',
          when: {
            all: [
              { event: 'purchase', window: { lastDays: 7 }, op: 'gte', value: 2 },
              {
                event: 'purchase',
                window: { lastDays: 7 },
                measure: { agg: 'sum', property: 'amount' },
                op: 'gte',
                value: 20,
              },
            ],
          },
        },
        {
          value: 'small',
          when: {
            event: 'purchase',
            window: { lastDays: 7 },
            measure: { agg: 'avg', property: 'amount' },
            op: 'lt',
            value: 30,
          },
        },
      ],
    },
  },
]

/** The label computed alone (the compiler's own statement), user_id → value. */
async function alone(db: TestDb, def: Definition, asOf: Date): Promise<Map<string, unknown>> {
  return runCompiled(db, compileRule(def, { catalogue: await loadCatalogue(db), asOf, tz }))
}

const sorted = sortedEntries
const stored = storedResults

describeEachDb('a refresh with shared scans gives every label the results it gets alone', (kind) => {
  const data = generateData(31, { users: 120, events: 1500 })
  const labels: Array<{ id: string; def: Definition }> = [
    ...fixed,
    ...fc.sample(ruleArb, { numRuns: 44, seed: 4242 }),
  ].map((def, i) => ({ id: `l${i}`, def }))
  let db: TestDb
  let svc: EngineService

  beforeAll(async () => {
    db = await newDb(kind)
    await loadData(db, data)
    svc = new EngineService(db)
    await svc.migrate()
  })
  afterAll(async () => {
    await db?.dispose()
  })

  /** Refreshes every label in one batch at asOf (with `defs` overriding some), then checks each against alone. */
  async function refreshAndCheck(asOf: Date, defs: Map<string, Definition> = new Map()) {
    const items = []
    for (const l of labels) {
      const run = await svc.createRun({
        labelId: l.id,
        trigger: 'schedule',
        asOf: asOf.toISOString(),
        definition: l.def,
      })
      items.push({ runId: run.id, ...(defs.has(l.id) ? { definition: defs.get(l.id) } : {}) })
    }
    const statements: string[] = []
    const outs = await new EngineService(
      tapped(db, { statement: (sql) => void statements.push(sql.trim()) }),
    ).refreshRuns(items, { tz })
    expect(outs.map((o) => o.run.status)).toEqual(labels.map(() => 'succeeded'))
    // The results came from the scans (not from each label computed alone), except on Citus, which has none.
    const fromScans = statements.filter(
      (q) => /^(INSERT INTO res_\d+|WITH run_values\b)/.test(q) && /\bshared_scan_\d+/.test(q),
    )
    if (db.citus) expect(fromScans).toEqual([])
    else expect(fromScans.length).toBeGreaterThanOrEqual(fixed.length) // the fixed labels surely share
    for (const l of labels) {
      const def = defs.get(l.id) ?? l.def
      expect(sorted(await stored(db, l.id)), `${l.id}: ${JSON.stringify(def)}`).toEqual(
        sorted(await alone(db, def, asOf)),
      )
    }
    // no scan table outlives the refresh
    const left = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE 'shared\\_scan\\_%' AND relnamespace = current_schema()::regnamespace`,
    )
    expect(left.rows[0]?.n).toBe(0)
  }

  it('shares scans: several labels read each event table from one pass', async () => {
    const plan = planSharedScans(
      labels.map((l) => l.def),
      { catalogue: await loadCatalogue(db), asOf: ASOF, tz },
    )
    const cat = await loadCatalogue(db)
    const sources = plan.scans.map((s) => s.source)
    expect(sources).toContain(cat.events.get('purchase')?.table)
    expect(sources).toContain(cat.events.get('view')?.table)
    expect(Math.min(...plan.scans.map((s) => s.labels))).toBeGreaterThanOrEqual(2)
  })

  it('stores each measure as a table of its own holding only the customers that have a value', async () => {
    const catalogue = await loadCatalogue(db)
    const ctx = { catalogue, asOf: ASOF, tz }
    const plan = planSharedScans(
      labels.map((l) => l.def),
      ctx,
    )
    const created: string[] = []
    try {
      const lookup = await buildScans(db, plan, created)
      // fixed[0]: purchases of the last 7 days, counted; fixed[2]: avg amount of apple/banana purchases
      const tableOf = (def: Def) => {
        const m = /\bFROM (shared_scan_\d+) x0\b/.exec(compileRuleShared(def, ctx, lookup).sql)
        if (!m) throw new Error(`not read from a scan: ${JSON.stringify(def)}`)
        return m[1] as string
      }
      const ev = catalogue.events.get('purchase')?.table as string
      const [count, avg] = [tableOf(fixed[0] as Def), tableOf(fixed[2] as Def)]
      const rows = async (sql: string, params: unknown[] = []) =>
        (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) q`, params)).rows[0]?.n
      expect(await rows(`SELECT uid FROM ${count} WHERE v IS NULL OR v <= 0`)).toBe(0)
      expect(await rows(`SELECT uid FROM ${count}`)).toBe(
        await rows(
          `SELECT DISTINCT uid FROM ${ev} WHERE time >= $1::timestamptz - interval '168 hours' AND time < $1`,
          [ASOF.toISOString()],
        ),
      )
      const amount = catalogue.events.get('purchase')?.properties.get('amount')?.column as string
      const product = catalogue.events.get('purchase')?.properties.get('product')?.column as string
      expect(await rows(`SELECT uid FROM ${avg} WHERE v IS NULL`)).toBe(0)
      expect(await rows(`SELECT uid FROM ${avg}`)).toBe(
        await rows(
          `SELECT uid FROM ${ev} WHERE time < $1 AND ${product} IN ('apple', 'banana') GROUP BY uid HAVING avg(${amount}) IS NOT NULL`,
          [ASOF.toISOString()],
        ),
      )
      expect(created.length).toBe(plan.scans.reduce((n, s) => n + s.columns.size, 0))
    } finally {
      for (const t of created) await db.exec(`DROP TABLE IF EXISTS ${t}`)
    }
  })

  it('equals label by label on the loaded data', async () => {
    await refreshAndCheck(ASOF)
  })

  it('a run no longer queued is reported as it stands, and the others still run', async () => {
    const asOf = new Date(ASOF.getTime() + 2 * DAY).toISOString()
    const runs = []
    for (const l of labels.slice(0, 3))
      runs.push(await svc.createRun({ labelId: l.id, trigger: 'schedule', asOf, definition: l.def }))
    // The middle one was run by someone else meanwhile.
    expect((await svc.executeRun(runs[1]!.id, { tz })).status).toBe('succeeded')
    const outs = await svc.refreshRuns(
      runs.map((r) => ({ runId: r.id })),
      { tz },
    )
    expect(outs.map((o) => [o.run.id, o.run.status])).toEqual(runs.map((r) => [r.id, 'succeeded']))
    expect(outs[1]!.results).toBeNull()
    expect(outs[0]!.results).not.toBeNull()
  })

  it('still does after late events, a re-ingested day, deleted users and an edited label', async () => {
    const late = Array.from({ length: 40 }, (_, i) => ({
      user_id: `u${i % 30}`,
      event: i % 3 === 0 ? 'view' : 'purchase',
      event_id: `late-${i}`,
      time: new Date(ASOF.getTime() - (i % 20) * DAY - 3_600_000).toISOString(), // before the first refresh
      properties: i % 3 === 0 ? { page: 'cart', duration: i } : { amount: i * 2.5, product: 'apple' },
    }))
    for (let k = 0; k < 2; k++) {
      // the same day twice: the second time every event_id is already stored
      const r = await ingestEventRecords(db, late)
      expect(r.committed).toBe(true)
      expect(r.inserted).toBe(k === 0 ? late.length : 0)
    }
    // deleted users: gone from users and from every event table
    const cat = await loadCatalogue(db)
    const gone = await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id IN ('u1', 'u2', 'u3', 'u50')`)
    const uids = gone.rows.map((r) => r.uid)
    for (const e of cat.events.values()) await db.query(`DELETE FROM ${e.table} WHERE uid = ANY($1::int[])`, [uids])
    await db.query(`DELETE FROM users WHERE uid = ANY($1::int[])`, [uids])
    // an edited label: its new window is read by no other label, so it leaves the purchase scan's group
    const edited: Definition = {
      dataType: 'number',
      rule: {
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 11 },
        measure: { agg: 'sum', property: 'amount' },
      },
    }
    await refreshAndCheck(new Date(ASOF.getTime() + DAY), new Map([['l1', edited]]))
  })
})

describeEachDb('a run computed from shared scans records what the scans read', (kind) => {
  // Data committed after the scans were built but before a run's own transaction is not in its
  // values: the run must say it did not read it, so that its label's next (incremental) run computes
  // those customers. Citus keeps no change log and builds no scans.
  const data = generateData(37, { users: 60, events: 800 })
  const labels = fixed.slice(0, 3).map((def, i) => ({ id: `s${i}`, def: def as Definition }))
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await loadData(db, data)
    await new EngineService(db).migrate()
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('a purchase ingested between the scans and the runs is computed at the next run', async () => {
    if (db.citus) return
    const svc = new EngineService(db, { resultWrites: 'changed', incremental: 'always' })
    const asOf = ASOF.toISOString()
    const items = []
    for (const l of labels)
      items.push({ runId: (await svc.createRun({ labelId: l.id, trigger: 'schedule', asOf, definition: l.def })).id })
    // The first run's claim comes after the scans: ingest a purchase (in every window, an apple:
    // fixed[2]'s filter) right then, on the database itself.
    let ingested = false
    let fromScans = 0
    const tap = tapped(db, {
      statement: async (sql) => {
        if (/^INSERT INTO res_\d+/.test(sql.trim()) && /\bshared_scan_\d+/.test(sql)) fromScans++
        if (ingested || !/^UPDATE runs SET status = 'running'/.test(sql.trim())) return
        ingested = true
        const late = [
          {
            user_id: 'u1',
            event: 'purchase',
            event_id: 'between-scans-and-runs',
            time: new Date(ASOF.getTime() - 3_600_000).toISOString(),
            properties: { amount: 1000, product: 'apple' },
          },
        ]
        expect((await ingestEventRecords(db, late)).inserted).toBe(1)
      },
    })
    const outs = await new EngineService(tap, { resultWrites: 'changed', incremental: 'always' }).refreshRuns(items, {
      tz,
    })
    expect(ingested).toBe(true)
    expect(outs.map((o) => o.run.status)).toEqual(labels.map(() => 'succeeded'))
    expect(fromScans).toBe(labels.length) // every label's values came from the scans
    // Each label's next run at the same asOf: incremental (some customers computed), exact.
    for (const l of labels) {
      const run = await svc.createRun({ labelId: l.id, trigger: 'manual', asOf, definition: l.def })
      const done = await svc.executeRun(run.id, { tz })
      expect(done.status).toBe('succeeded')
      expect(done.recomputedUsers, `${l.id}: an incremental run`).toEqual(expect.any(Number))
      expect(sorted(await stored(db, l.id)), `${l.id}: ${JSON.stringify(l.def)}`).toEqual(
        sorted(await alone(db, l.def, ASOF)),
      )
    }
  })

  // The labels have results from the test above.
  it("a later refresh of labels with results computes each one's changed customers, not everyone through scans", async () => {
    if (db.citus) return
    const asOf = new Date(ASOF.getTime() + DAY).toISOString()
    const svc = new EngineService(db)
    const items = []
    for (const l of labels)
      items.push({ runId: (await svc.createRun({ labelId: l.id, trigger: 'schedule', asOf, definition: l.def })).id })
    const statements: string[] = []
    // `always`: on data this small a restricted run may take longer than a full one (`slower`).
    const outs = await new EngineService(tapped(db, { statement: (sql) => void statements.push(sql) }), {
      resultWrites: 'changed',
      incremental: 'always',
    }).refreshRuns(items, { tz })
    expect(outs.map((o) => o.run.status)).toEqual(labels.map(() => 'succeeded'))
    expect(statements.filter((q) => /\bshared_scan_\d+/.test(q))).toEqual([]) // no scan built or read
    // Each run decided for itself: restricted to the changed customers, or everyone for its own reason
    // (on 60 customers a day can change more than 30% of them: `many`), never `off` as through scans.
    const how = outs.map((o) => (o.run.recomputedUsers === null ? o.run.fullRunReason : 'restricted'))
    expect(how).not.toContain('off')
    expect(how).toContain('restricted')
    for (const l of labels)
      expect(sorted(await stored(db, l.id)), l.id).toEqual(sorted(await alone(db, l.def, new Date(asOf))))
  })
})

describe('scan passes', () => {
  it('hold as many measures as keep their per-customer state within ~128 MB', () => {
    expect(scanColumns(10_000)).toBe(64)
    expect(scanColumns(100_000)).toBe(32)
    expect(scanColumns(1_000_000)).toBe(4)
    expect(scanColumns(0)).toBe(64)
  })
})

describe('scan table names', () => {
  it('carry their creation time and nothing else', () => {
    expect(scanCreatedAt('shared_scan_1700000000000123456')).toBe(1_700_000_000_000)
    expect(scanCreatedAt('shared_scan_1700000000000123456; DROP TABLE users')).toBeNull()
    expect(scanCreatedAt('res_1')).toBeNull()
  })
})
