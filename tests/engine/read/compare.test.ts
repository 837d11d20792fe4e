import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Comparison, Definition, DistributionItem, Run } from '../../../engine/api.ts'
import { loadLabelState } from '../../../engine/read/label-state.ts'
import { EngineService } from '../../../engine/service.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { ASOF, generateData, loadData } from '../../helpers/rule-data.ts'
import { fixedSql, newService } from '../calc/fixture.ts'

const asOf = ASOF.toISOString()

const tiers = (gold: number): Definition => ({
  dataType: 'string',
  rule: {
    method: 'custom',
    values: [
      { value: 'gold', when: { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: gold } },
      { value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } },
    ],
    otherwise: 'browser',
  },
})
const tiersNoOtherwise: Definition = {
  dataType: 'string',
  rule: {
    method: 'custom',
    values: [{ value: 'gold', when: { event: 'purchase', window: { lastDays: 7 }, op: 'gte', value: 2 } }],
  },
}
const purchases = (days: number): Definition => ({
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', window: { lastDays: days }, measure: { agg: 'count' } },
})
const spend = (days: number): Definition => ({
  dataType: 'number',
  rule: {
    method: 'metric',
    event: 'purchase',
    window: { lastDays: days },
    measure: { agg: 'sum', property: 'amount' },
  },
})
const vipBuyer = (days: number): Definition => ({
  dataType: 'boolean',
  rule: {
    method: 'custom',
    values: [{ value: true, when: { event: 'purchase', window: { lastDays: days }, op: 'gte', value: 1 } }],
    otherwise: false,
  },
})
const favourites = (days: number): Definition => ({
  dataType: 'collection',
  rule: { method: 'preference', event: 'purchase', window: { lastDays: days }, property: 'product', top: 2 },
})

describeEachDb('compare: before/after of a rule change', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    await loadData(db, generateData(7, { users: 300, events: 4000 }))
    svc = new EngineService(db)
    await svc.migrate()
  })
  afterAll(() => db.dispose())

  const run = async (labelId: string, def: Definition): Promise<Run> => {
    const r = await svc.createRun({ labelId, trigger: 'manual', asOf, definition: def })
    const done = await svc.executeRun(r.id, { tz: 'UTC' })
    expect(done.status).toBe('succeeded')
    return done
  }

  /** user_id → stored value of a label's current results (collections sorted: compared as sets). */
  const values = async (labelId: string): Promise<Map<string, unknown>> => {
    const s = await loadLabelState(db, labelId)
    const r = await db.query<{ user_id: string; value: unknown }>(
      `SELECT u.user_id, r.value FROM ${s!.table} r JOIN users u USING (uid)`,
    )
    return new Map(r.rows.map((x) => [x.user_id, Array.isArray(x.value) ? [...(x.value as string[])].sort() : x.value]))
  }

  /** The transition table recomputed from two actual runs, every user once. */
  const actualTransitions = async (before: string, after: string, bucket: (v: unknown) => unknown = (v) => v) => {
    const [a, b] = [await values(before), await values(after)]
    const users = await db.query<{ user_id: string }>(`SELECT user_id FROM users`)
    const counts = new Map<string, number>()
    for (const { user_id } of users.rows) {
      const key = JSON.stringify([
        a.has(user_id) ? bucket(a.get(user_id)) : null,
        b.has(user_id) ? bucket(b.get(user_id)) : null,
      ])
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return [...counts].map(([k, users]) => ({ ft: k, users })).sort((x, y) => (x.ft < y.ft ? -1 : 1))
  }
  const listed = (c: Comparison) =>
    c.transitions
      .map((t) => ({ ft: JSON.stringify([t.from, t.to]), users: t.users }))
      .sort((x, y) => (x.ft < y.ft ? -1 : 1))
  const itemsOf = (items: DistributionItem[]) => items.map((i) => [i.value, i.users])

  it('string: the transition table is what running the new rule does to each customer', async () => {
    const current = await run('tiers', tiers(3))
    const c = await svc.compare('tiers', tiers(2).rule && tiers(2), { tz: 'UTC', asOf })
    await run('tiers_new', tiers(2))
    expect(listed(c)).toEqual(await actualTransitions('tiers', 'tiers_new'))
    expect(c.current).toMatchObject({ labelId: 'tiers', runId: current.id })
    expect(itemsOf(c.current.items)).toEqual(itemsOf((await svc.distribution('tiers', 'string', {}))!.items))
    expect(itemsOf(c.draft.items)).toEqual(itemsOf((await svc.distribution('tiers_new', 'string', {}))!.items))
    expect(c.transitions.some((t) => t.from === 'buyer' && t.to === 'gold' && t.users > 0)).toBe(true)
    expect(c.changedUsers).toBe(c.transitions.filter((t) => t.from !== t.to).reduce((a, t) => a + t.users, 0))
    expect(c.changedUsers + c.unchangedUsers).toBe(300)
    expect(c.otherTransitions).toEqual({ count: 0, users: 0 })
  })

  it('string: customers losing their value go to null, those without either stay null → null', async () => {
    const c = await svc.compare('tiers', tiersNoOtherwise, { tz: 'UTC', asOf })
    await run('tiers_gold7', tiersNoOtherwise)
    expect(listed(c)).toEqual(await actualTransitions('tiers', 'tiers_gold7'))
    expect(c.transitions.some((t) => t.from === 'browser' && t.to === null)).toBe(true)
  })

  it('number with few values: exact values on both sides', async () => {
    await run('p30', purchases(30))
    const c = await svc.compare('p30', purchases(7), { tz: 'UTC', asOf })
    await run('p7', purchases(7))
    expect(listed(c)).toEqual(await actualTransitions('p30', 'p7'))
    expect(c.transitions.every((t) => t.from === null || typeof t.from === 'number')).toBe(true)
  })

  it('number with many values: both sides in the same bins, and the transitions add up to both distributions', async () => {
    await run('s45', spend(45))
    const c = await svc.compare('s45', spend(10), { tz: 'UTC', asOf })
    const intervals = (items: DistributionItem[]) =>
      items.map((i) => [i.from, i.to]).sort((a, b) => Number(a[0]) - Number(b[0]))
    expect(c.current.items.length).toBe(10)
    expect(intervals(c.current.items)).toEqual(intervals(c.draft.items))
    // The bins span both sides: the largest current sum is inside them.
    const cur = await values('s45')
    const hi = Math.max(...[...cur.values()].map(Number))
    expect(Math.max(...c.current.items.map((i) => Number(i.to)))).toBeGreaterThanOrEqual(hi)
    const sumBy = (side: 'from' | 'to') => {
      const m = new Map<unknown, number>()
      for (const t of c.transitions) if (t[side] !== null) m.set(t[side], (m.get(t[side]) ?? 0) + t.users)
      return m
    }
    for (const [side, d] of [
      ['from', c.current],
      ['to', c.draft],
    ] as const) {
      const m = sumBy(side)
      for (const i of d.items) expect(m.get(i.value) ?? 0).toBe(i.users)
    }
    // Per customer: the bin of each side's actual value, as the distribution draws it.
    await run('s10', spend(10))
    const bins = c.current.items.map((i) => ({
      value: i.value,
      from: Number(i.from),
      to: Number(i.to),
      closed: String(i.value).endsWith(']'),
    }))
    const bucket = (v: unknown) =>
      bins.find((b) => Number(v) >= b.from && (Number(v) < b.to || (b.closed && Number(v) <= b.to)))?.value
    expect(listed(c)).toEqual(await actualTransitions('s45', 's10', bucket))
  })

  it('boolean and collection (compared as sets)', async () => {
    await run('vip30', vipBuyer(30))
    const b = await svc.compare('vip30', vipBuyer(3), { tz: 'UTC', asOf })
    await run('vip3', vipBuyer(3))
    expect(listed(b)).toEqual(await actualTransitions('vip30', 'vip3'))
    expect(b.transitions.find((t) => t.from === true && t.to === false)?.users).toBeGreaterThan(0)

    await run('fav40', favourites(40))
    const c = await svc.compare('fav40', favourites(5), { tz: 'UTC', asOf })
    await run('fav5', favourites(5))
    expect(listed(c)).toEqual(await actualTransitions('fav40', 'fav5'))
  })

  it('a label without results: everyone comes from no value', async () => {
    const c = await svc.compare('never_ran', purchases(7), { tz: 'UTC', asOf })
    expect(c.current).toMatchObject({ runId: null, items: [] })
    expect(c.transitions.every((t) => t.from === null)).toBe(true)
    expect(c.transitions.reduce((a, t) => a + t.users, 0)).toBe(300)
  })

  it('cuts the list at maxTransitions and counts the rest', async () => {
    const c = await svc.compare('s45', spend(10), { tz: 'UTC', asOf, maxTransitions: 3 })
    expect(c.transitions).toHaveLength(3)
    const full = await svc.compare('s45', spend(10), { tz: 'UTC', asOf })
    expect(c.otherTransitions.count).toBe(full.transitions.length - 3)
    expect(c.otherTransitions.users).toBe(full.transitions.slice(3).reduce((a, t) => a + t.users, 0))
  })

  it('stores nothing', async () => {
    const snapshot = async () =>
      (
        await db.query(
          `SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM label_state) AS st, (SELECT count(*)::int FROM history) AS h, (SELECT count(*)::int FROM pg_class WHERE relname LIKE 'compare_%') AS tmp`,
        )
      ).rows[0]
    const before = await snapshot()
    await svc.compare('tiers', tiers(1), { tz: 'UTC', asOf })
    expect(await snapshot()).toEqual(before)
  })
})

describeEachDb('compare: budget', (kind) => {
  it('exceeding timeoutMs gives a timeout error', async () => {
    const g = await newService(
      kind,
      fixedSql(`SELECT uid, 1::float8 AS value FROM users, (SELECT 1 FROM pg_sleep(0.4)) s`),
    )
    try {
      await expect(g.svc.compare('x', purchases(1), { tz: 'UTC', timeoutMs: 100 })).rejects.toMatchObject({
        code: 'timeout',
      })
    } finally {
      await g.dispose()
    }
  })
})
