import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { pruneChanges } from '../../../engine/storage/changes.ts'
import { AFFECTED_TABLE, collectAffected, incrementalBase } from '../../../engine/calc/incremental.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { ruleArb, type Def } from '../../helpers/rule-arbitraries.ts'
import { expectCountsOfTable } from '../../helpers/stored-counts.ts'
import {
  ASOF,
  generateData,
  loadData,
  runCompiled,
  runLabelAt,
  sortedEntries,
  storedResults,
} from '../../helpers/rule-data.ts'

/**
 * Incremental runs (engine/calc/incremental.ts): a label's next run of the same rule computes only
 * the customers whose data or windows changed. Every run here is checked against the label's own
 * statement over every customer, after each kind of change the change log must catch, and its
 * summary and history snapshot (counted from the written difference: calc/result-delta.ts)
 * against counting the whole result table.
 */

const DAY = 86_400_000
const tz = 'America/New_York'

/** Every window kind and method, then random rules. */
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
  { dataType: 'number', rule: { method: 'metric', event: 'view', measure: { agg: 'avg', property: 'duration' } } },
  {
    dataType: 'string',
    rule: {
      method: 'distribution',
      event: 'purchase',
      window: { from: '2024-03-01', to: '2024-03-17' },
      measure: { agg: 'max', property: 'amount' },
      boundaries: [10, 100],
    },
  },
  {
    dataType: 'string',
    rule: { method: 'first_last', which: 'last', event: 'purchase', window: { lastDays: 14 }, property: 'product' },
  },
  { dataType: 'date', rule: { method: 'first_last', which: 'first', event: 'view', property: '$time' } },
  {
    dataType: 'string',
    rule: {
      method: 'preference',
      event: 'view',
      window: { lastDays: 10 },
      property: 'page',
      by: { agg: 'count' },
      top: 1,
    },
  },
  {
    dataType: 'string',
    rule: {
      method: 'custom',
      values: [
        {
          value: 'active vip',
          when: {
            all: [
              { attribute: 'vip', op: 'eq', value: true },
              { event: 'view', window: { lastDays: 3 }, measure: { agg: 'count' }, op: 'gte', value: 1 },
            ],
          },
        },
        {
          value: 'buyer',
          when: { event: 'purchase', window: { lastDays: 20 }, measure: { agg: 'days' }, op: 'gte', value: 2 },
        },
      ],
      otherwise: 'other',
    },
  },
  // Delta forms (compiler/emit-delta.ts): counts over every window kind with filters, first/last
  // of a property over a date range and all time.
  {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'view',
      where: [{ property: 'page', op: 'neq', value: 'home' }],
      measure: { agg: 'count' },
    },
  },
  {
    dataType: 'number',
    rule: {
      method: 'metric',
      event: 'purchase',
      window: { from: '2024-02-20', to: '2024-03-30' },
      where: [{ property: 'amount', op: 'gte', value: 50 }],
      measure: { agg: 'count' },
    },
  },
  {
    dataType: 'string',
    rule: {
      method: 'first_last',
      which: 'last',
      event: 'purchase',
      window: { from: '2024-02-20', to: '2024-03-30' },
      property: 'product',
    },
  },
  { dataType: 'string', rule: { method: 'first_last', which: 'first', event: 'view', property: 'page' } },
  { dataType: 'date', rule: { method: 'first_last', which: 'last', event: 'purchase', property: '$time' } },
  // First/last over short `lastDays` windows: rows leave every day (the first changes then, the
  // last only when nothing of the stored window is left).
  {
    dataType: 'string',
    rule: { method: 'first_last', which: 'first', event: 'view', window: { lastDays: 3 }, property: 'page' },
  },
  {
    dataType: 'date',
    rule: { method: 'first_last', which: 'first', event: 'view', window: { lastDays: 2 }, property: '$time' },
  },
  {
    dataType: 'date',
    rule: {
      method: 'first_last',
      which: 'last',
      event: 'view',
      window: { lastDays: 2 },
      where: [{ property: 'page', op: 'neq', value: 'home' }],
      property: '$time',
    },
  },
]

describeEachDb('an incremental run gives the results of a run over every customer', (kind) => {
  const data = generateData(77, { users: 600, events: 2500 })
  const labels = [...fixed, ...fc.sample(ruleArb, { numRuns: 36, seed: 9090 })].map((def, i) => ({ id: `i${i}`, def }))
  let db: TestDb
  let svc: EngineService
  /** The asOf of the last runAll of a test that other tests follow. */
  let lastAsOf = ASOF

  beforeAll(async () => {
    db = await newDb(kind)
    await loadData(db, data)
    // `always`: these runs are restricted whatever their times (a restricted run can take longer
    // than a full one at this size); the default, which measures, has its own test below.
    svc = new EngineService(db, { resultWrites: 'auto', incremental: 'always' })
    await svc.migrate()
  })
  afterAll(async () => {
    await db?.dispose()
  })

  /** Runs every label at asOf, label by label; checks each against its statement over everyone; recomputed counts. */
  async function runAll(asOf: Date, defs = new Map<string, Definition>()): Promise<Map<string, number | null>> {
    const recomputed = new Map<string, number | null>()
    for (const l of labels) {
      const def = defs.get(l.id) ?? l.def
      const runId = await runLabelAt(svc, { id: l.id, def }, asOf, tz)
      const r = await db.query<{ n: number | null }>(`SELECT recomputed_users AS n FROM runs WHERE id = $1`, [runId])
      recomputed.set(l.id, r.rows[0]?.n ?? null)
      const all = await runCompiled(db, compileRule(def, { catalogue: await loadCatalogue(db), asOf, tz }))
      expect(sortedEntries(await storedResults(db, l.id)), `${l.id}: ${JSON.stringify(def)}`).toEqual(
        sortedEntries(all),
      )
      const st = await db.query<{ n: number }>(`SELECT covered_users AS n FROM label_state WHERE label_id = $1`, [l.id])
      expect(st.rows[0]?.n, `${l.id}: covered users`).toBe(all.size)
      await expectCountsOfTable(db, l.id)
    }
    return recomputed
  }

  /** The event tables with an index by time, sorted. */
  const timeIndexed = async () =>
    (
      await db.query<{ t: string }>(
        `SELECT tablename AS t FROM pg_indexes WHERE schemaname = current_schema() AND indexname = tablename || '_time' ORDER BY 1`,
      )
    ).rows.map((r) => r.t)

  const users = async () => Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users`)).rows[0]?.n)

  it('a first run computes every customer; the next day only those whose windows moved', async () => {
    const first = await runAll(ASOF)
    if (db.citus) return // no change log there: every run computes everyone (storage/changes.ts)
    expect([...first.values()].every((n) => n === null)).toBe(true)
    // Neither ingestion nor the runs over everyone built the index by time; the first run that
    // may be incremental builds it for every event table (storage/extend.ts addTimeIndexes).
    const tables = [...(await loadCatalogue(db)).events.values()].map((e) => e.table).sort()
    expect(await timeIndexed()).toEqual([])
    const next = await runAll(new Date(ASOF.getTime() + DAY))
    expect(await timeIndexed()).toEqual(tables)
    const n = await users()
    const counts = [...next.values()]
    expect(counts.every((c) => c !== null)).toBe(true)
    // Only customers with events on the day that entered or left a window were computed.
    expect(Math.max(...(counts as number[]))).toBeLessThan(0.3 * n)
    expect(counts.filter((c) => (c as number) < 0.1 * n).length).toBeGreaterThan(labels.length / 2)
  })

  it('catches late events, a re-ingested day, new, changed and deleted users, events deleted by hand', async () => {
    const asOf = new Date(ASOF.getTime() + 2 * DAY)
    // late events, well inside every window, ingested twice (the second time all are known)
    const late = Array.from({ length: 30 }, (_, i) => ({
      user_id: `u${(i * 7) % 120}`,
      event: i % 3 === 0 ? 'view' : 'purchase',
      event_id: `late-${i}`,
      time: new Date(ASOF.getTime() - (i % 12) * DAY - 7_200_000).toISOString(),
      properties: i % 3 === 0 ? { page: 'search', duration: 1000 + i } : { amount: 500 + i, product: 'zucchini' },
    }))
    for (let k = 0; k < 2; k++) expect((await ingestEventRecords(db, late)).inserted).toBe(k === 0 ? late.length : 0)
    // a re-ingested day: its events deleted and loaded again, changed
    const cat = await loadCatalogue(db)
    const purchase = cat.events.get('purchase')?.table as string
    const dayStart = new Date(ASOF.getTime() - 5 * DAY)
    const day = await db.query<{ user_id: string; time: Date | string }>(
      `SELECT u.user_id, e.time FROM ${purchase} e JOIN users u USING (uid) WHERE e.time >= $1 AND e.time < $2`,
      [dayStart.toISOString(), new Date(dayStart.getTime() + DAY).toISOString()],
    )
    expect(day.rows.length).toBeGreaterThan(0)
    await db.query(`DELETE FROM ${purchase} WHERE time >= $1 AND time < $2`, [
      dayStart.toISOString(),
      new Date(dayStart.getTime() + DAY).toISOString(),
    ])
    const again = day.rows.slice(1).map((r, i) => ({
      user_id: r.user_id,
      event: 'purchase',
      event_id: `again-${i}`,
      time: new Date(r.time).toISOString(),
      properties: { amount: 3 * i, product: 'banana' },
    }))
    expect((await ingestEventRecords(db, again)).committed).toBe(true)
    // new users (one with events), changed attributes, deleted users
    const u = await ingestUserRecords(db, [
      { user_id: 'new1', properties: { vip: true, age: 33 } },
      { user_id: 'new2', properties: {} },
      { user_id: 'u5', properties: { vip: true, city: 'Rome', age: 99 } },
      { user_id: 'u6', properties: { vip: false } },
    ])
    expect(u.committed).toBe(true)
    await ingestEventRecords(db, [
      {
        user_id: 'new1',
        event: 'view',
        event_id: 'n1',
        time: new Date(ASOF.getTime() - DAY).toISOString(),
        properties: { page: 'home' },
      },
    ])
    const gone = await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id IN ('u1', 'u2', 'u140')`)
    const uids = gone.rows.map((r) => r.uid)
    for (const e of cat.events.values()) await db.query(`DELETE FROM ${e.table} WHERE uid = ANY($1::int[])`, [uids])
    await db.query(`DELETE FROM users WHERE uid = ANY($1::int[])`, [uids])
    // an event updated by hand (Citus refuses timestamptz − interval, a STABLE function of a column, in an UPDATE)
    if (!db.citus)
      await db.query(
        `UPDATE ${purchase} SET time = time - interval '3 days' WHERE uid = (SELECT uid FROM users WHERE user_id = 'u7')`,
      )
    const counts = await runAll(asOf)
    if (!db.citus) expect([...counts.values()].every((c) => c !== null)).toBe(true)
  })

  it('the same asOf again recomputes only the changed customers; an earlier asOf is exact too', async () => {
    const asOf = new Date(ASOF.getTime() + 2 * DAY)
    await ingestEventRecords(db, [
      {
        user_id: 'u9',
        event: 'purchase',
        event_id: 'same-1',
        time: new Date(ASOF.getTime() - 2 * DAY).toISOString(),
        properties: { amount: 1e6, product: 'kiwi' },
      },
    ])
    const same = await runAll(asOf)
    if (!db.citus) expect(Math.max(...([...same.values()] as number[]))).toBeLessThanOrEqual(1)
    await runAll(new Date(ASOF.getTime() - 3 * DAY))
  })

  it('an edited rule computes everyone; pruning the log keeps what the next run needs', async () => {
    const asOf = new Date(ASOF.getTime() - 2 * DAY) // a day after the last runs
    const edited: Definition = {
      dataType: 'number',
      rule: {
        method: 'metric',
        event: 'purchase',
        window: { lastDays: 11 },
        measure: { agg: 'sum', property: 'amount' },
      },
    }
    if (!db.citus) {
      const before = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM data_changes`)).rows[0]?.n)
      expect(await pruneChanges(db)).toBeGreaterThan(0)
      const after = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM data_changes`)).rows[0]?.n)
      expect(after).toBeLessThan(before)
    }
    await ingestEventRecords(db, [
      {
        user_id: 'u11',
        event: 'view',
        event_id: 'after-prune',
        time: new Date(ASOF.getTime() - DAY).toISOString(),
        properties: { page: 'cart', duration: 5 },
      },
    ])
    const counts = await runAll(asOf, new Map([['i1', edited]]))
    if (!db.citus) {
      expect(counts.get('i1')).toBeNull()
      expect(counts.get('i0')).not.toBeNull()
    }
  })

  it('a label whose restricted run took longer than a full one computes everyone, and tries again after 7 such runs', async () => {
    if (db.citus) return // no change log there
    const l = labels[0] as (typeof labels)[number]
    const measured = new EngineService(db, { resultWrites: 'auto' }) // LABELS_INCREMENTAL=on
    const runOne = async (asOf: Date, def: Definition = l.def) => {
      const run = await measured.createRun({
        labelId: l.id,
        trigger: 'schedule',
        asOf: asOf.toISOString(),
        definition: def,
      })
      const done = await measured.executeRun(run.id, { tz })
      expect(done.status, `${l.id}: ${done.error}`).toBe('succeeded')
      const all = await runCompiled(db, compileRule(def, { catalogue: await loadCatalogue(db), asOf, tz }))
      expect(sortedEntries(await storedResults(db, l.id))).toEqual(sortedEntries(all))
      const r = await db.query<{ n: number | null }>(`SELECT recomputed_users AS n FROM runs WHERE id = $1`, [run.id])
      return { id: run.id, recomputed: r.rows[0]?.n ?? null }
    }
    /** Makes a run look as if it took `ms`. */
    const took = (id: string, ms: number) =>
      db.query(`UPDATE runs SET finished_at = started_at + $2 * interval '1 millisecond' WHERE id = $1`, [id, ms])
    const day = (k: number) => new Date(ASOF.getTime() + (10 + k) * DAY)
    // The label's runs of the tests before took what they took: as if each took no time.
    await db.query(`UPDATE runs SET finished_at = started_at WHERE label_id = $1`, [l.id])
    // Another rule, then this one again: two runs over everyone (neither has a base of its rule).
    const other: Definition = { ...l.def, rule: { ...l.def.rule, window: { lastDays: 8 } } as Definition['rule'] }
    expect((await runOne(day(-1), other)).recomputed).toBeNull()
    const full = await runOne(day(0))
    expect(full.recomputed).toBeNull()
    const restricted = await runOne(day(1))
    expect(restricted.recomputed).not.toBeNull()
    // A restricted run faster than the full one: the next run is restricted too.
    await took(full.id, 1000)
    await took(restricted.id, 200)
    const again = await runOne(day(2))
    expect(again.recomputed).not.toBeNull()
    // Slower than the last full run: the next runs compute everyone …
    await took(again.id, 5000)
    const fulls: string[] = []
    for (let k = 3; k < 3 + 7; k++) {
      const r = await runOne(day(k))
      expect(r.recomputed, `run ${k}`).toBeNull()
      fulls.push(r.id)
      await took(r.id, 1000)
    }
    // … until 7 of them have run (the slow restricted run is no longer among the last 7): then one is tried again.
    const retried = await runOne(day(10))
    expect(retried.recomputed).not.toBeNull()
  })

  it("collects each customer once, and leaves the session's hash-aggregate setting as it found it", async () => {
    if (db.citus) return // no change log there
    const def = fixed[7] as Def // custom: views over 3 days and purchases over 20
    const scopes = compileRule(def, { catalogue: await loadCatalogue(db), asOf: ASOF, tz }).scopes ?? []
    expect(scopes.length).toBeGreaterThan(1)
    const snap = (await db.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`)).rows[0]?.s as string
    // The same customers in two statements (two log rows each), with events on a window's entering day.
    const evs = (tag: string) =>
      Array.from({ length: 12 }, (_, i) => ({
        user_id: `u${20 + i}`,
        event: i % 2 ? 'view' : 'purchase',
        event_id: `collect-${tag}-${i}`,
        time: new Date(ASOF.getTime() - DAY / 2).toISOString(),
        properties: i % 2 ? { page: 'home', duration: 3 } : { amount: 7, product: 'kiwi' },
      }))
    for (const tag of ['a', 'b']) expect((await ingestEventRecords(db, evs(tag))).committed).toBe(true)
    for (const setting of ['on', 'off']) {
      await db.transaction(async (tx) => {
        await tx.exec(`SET LOCAL enable_hashagg = ${setting}`)
        const base = {
          runId: 'none',
          asOf: new Date(ASOF.getTime() - DAY),
          snapshot: snap,
          table: 'res_0',
          coveredUsers: 0,
        }
        const got = await collectAffected(tx, base, scopes, ASOF, tz)
        const r = await tx.query<{ n: number; d: number; ours: number; v: string }>(
          `SELECT count(*)::int AS n, count(DISTINCT uid)::int AS d,
                  count(*) FILTER (WHERE uid IN (SELECT uid FROM users WHERE user_id = ANY ($1::text[])))::int AS ours,
                  current_setting('enable_hashagg') AS v
             FROM ${AFFECTED_TABLE}`,
          [evs('a').map((e) => e.user_id)],
        )
        expect(r.rows[0]).toEqual({ n: got.count, d: got.count, ours: 12, v: setting })
        expect(got.everyone).toBe(false)
      })
    }
  })

  it('updates a count or a first/last from the window edges for customers whose only changes are appended events', async () => {
    if (db.citus) return // no change log there
    // Labels with a delta form (compiler/emit-delta.ts): views that aren't home, over all time;
    // the first page viewed.
    const count = labels.find((l) => JSON.stringify(l.def) === JSON.stringify(fixed[8])) as (typeof labels)[number]
    const first = labels.find((l) => JSON.stringify(l.def) === JSON.stringify(fixed[11])) as (typeof labels)[number]
    const state = async (id: string) =>
      (
        await db.query<{ t: string; as_of: Date | string }>(
          `SELECT result_table AS t, as_of FROM label_state WHERE label_id = $1`,
          [id],
        )
      ).rows[0] as { t: string; as_of: Date | string }
    const base = new Date((await state(count.id)).as_of)
    expect(new Date((await state(first.id)).as_of)).toEqual(base)
    const uidOf = async (userId: string) =>
      Number((await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id = $1`, [userId])).rows[0]?.uid)
    // Stored values made wrong on purpose for u30 and u31: an update from the edges keeps the
    // error (it reads the stored value), a recount repairs it.
    for (const u of ['u30', 'u31']) {
      const uid = await uidOf(u)
      await db.query(`UPDATE ${(await state(count.id)).t} SET value = value + 1000 WHERE uid = $1`, [uid])
      await db.query(`UPDATE ${(await state(first.id)).t} SET value = 'tampered' WHERE uid = $1`, [uid])
    }
    // u30: a view appended after the stored asOf; u31: a late one (before it) as well.
    const view = (user: string, id: string, time: number) => ({
      user_id: user,
      event: 'view',
      event_id: id,
      time: new Date(time).toISOString(),
      properties: { page: 'cart', duration: 9 },
    })
    await ingestEventRecords(db, [
      view('u30', 'edge-30', base.getTime() + 3_600_000),
      view('u31', 'edge-31', base.getTime() + 3_600_000),
      view('u31', 'late-31', base.getTime() - 40 * DAY),
    ])
    // A new user whose first view comes after the stored asOf: no stored value to keep.
    await ingestUserRecords(db, [{ user_id: 'fresh', properties: {} }])
    await ingestEventRecords(db, [view('fresh', 'edge-fresh', base.getTime() + 7_200_000)])
    const asOf = new Date(base.getTime() + DAY)
    const cat = await loadCatalogue(db)
    /** Runs the label at asOf through `service`; its stored results and its statement's over everyone. */
    const runOne = async (service: EngineService, l: (typeof labels)[number]) => {
      await runLabelAt(service, l, asOf, tz)
      const all = await runCompiled(db, compileRule(l.def, { catalogue: cat, asOf, tz }))
      return { all, stored: await storedResults(db, l.id) }
    }
    for (const l of [count, first]) {
      const { all, stored } = await runOne(svc, l)
      expect(all.get('u30')).toBeDefined()
      expect(stored.get('u30'), `${l.id}: u30 updated from its stored value`).toEqual(
        l === count ? (all.get('u30') as number) + 1000 : 'tampered',
      )
      expect(stored.get('u31'), `${l.id}: u31 recomputed`).toEqual(all.get('u31'))
      expect(stored.get('fresh'), `${l.id}: a new customer`).toEqual(l === count ? 1 : 'cart')
      // Everyone else as a full run gives.
      stored.delete('u30')
      all.delete('u30')
      expect(sortedEntries(stored)).toEqual(sortedEntries(all))
    }
    // Repaired for the tests after: a run over everyone.
    const full = new EngineService(db, { resultWrites: 'auto', incremental: false })
    for (const l of [count, first]) {
      const { all, stored } = await runOne(full, l)
      expect(sortedEntries(stored)).toEqual(sortedEntries(all))
    }
  })

  it("leaves out customers whose changes are in event tables the label doesn't read, or that its filters don't keep", async () => {
    if (db.citus) return // no change log there
    // Purchases over 7 days; views that aren't home over all time.
    const purchases = labels.find((l) => JSON.stringify(l.def) === JSON.stringify(fixed[0])) as (typeof labels)[number]
    const views = labels.find((l) => JSON.stringify(l.def) === JSON.stringify(fixed[8])) as (typeof labels)[number]
    const cat = await loadCatalogue(db)
    const bases = await Promise.all(
      [purchases, views].map(async (l) => {
        const base = await db.transaction((tx) => incrementalBase(tx, l.id, l.def, tz))
        expect(base, l.id).not.toBeNull()
        return base as NonNullable<typeof base>
      }),
    )
    const [pBase, vBase] = bases as [(typeof bases)[number], (typeof bases)[number]]
    /** The user_ids the label's next run, a day after its base's asOf, would compute. */
    const affected = async (l: (typeof labels)[number], base: (typeof bases)[number]) => {
      const asOf = new Date(base.asOf.getTime() + DAY)
      const scopes = compileRule(l.def, { catalogue: cat, asOf, tz }).scopes ?? []
      return db.transaction(async (tx) => {
        await collectAffected(tx, base, scopes, asOf, tz)
        const r = await tx.query<{ u: string }>(
          `SELECT u.user_id AS u FROM ${AFFECTED_TABLE} a JOIN users u ON u.uid = a.uid`,
        )
        return new Set(r.rows.map((x) => x.u))
      })
    }
    const before = [await affected(purchases, pBase), await affected(views, vBase)]
    // Four customers neither run computes yet.
    const quiet = Array.from({ length: 500 }, (_, i) => `u${100 + i}`).filter((u) => !before.some((b) => b.has(u)))
    expect(quiet.length).toBeGreaterThanOrEqual(4)
    const [lateView, latePurchase, homeView, cartView] = quiet as [string, string, string, string]
    // Late: two days before both bases' asOf; appended: an hour after the views label's.
    const [early, late] = [
      Math.min(pBase.asOf.getTime(), vBase.asOf.getTime()),
      Math.max(pBase.asOf.getTime(), vBase.asOf.getTime()),
    ]
    const ev = (user: string, event: string, id: string, time: number, properties: Record<string, unknown>) => ({
      user_id: user,
      event,
      event_id: id,
      time: new Date(time).toISOString(),
      properties,
    })
    expect(
      (
        await ingestEventRecords(db, [
          ev(lateView, 'view', 'skip-1', early - 2 * DAY, { page: 'cart', duration: 4 }),
          ev(latePurchase, 'purchase', 'skip-2', early - 2 * DAY, { amount: 12, product: 'fig' }),
          ev(homeView, 'view', 'skip-3', vBase.asOf.getTime() + 3_600_000, { page: 'home', duration: 4 }),
          ev(cartView, 'view', 'skip-4', vBase.asOf.getTime() + 3_600_000, { page: 'cart', duration: 4 }),
        ])
      ).committed,
    ).toBe(true)
    const [p, v] = [await affected(purchases, pBase), await affected(views, vBase)]
    // Purchases: the late purchase, not the late view (another table).
    expect([latePurchase, lateView].map((u) => p.has(u))).toEqual([true, false])
    // Views that aren't home: the late view (any late change is computed again) and the appended
    // cart view, not the appended home view (its filter).
    expect([lateView, cartView, homeView].map((u) => v.has(u))).toEqual([true, true, false])
    // And the runs give a full run's results (runAll checks each against its statement).
    lastAsOf = new Date(late + DAY)
    await runAll(lastAsOf)
  })

  it('after a TRUNCATE (no rows to log) the next run of every label reading the table computes everyone', async () => {
    const cat = await loadCatalogue(db)
    const view = cat.events.get('view')?.table as string
    await db.exec(`TRUNCATE ${view}`)
    const asOf = new Date(lastAsOf.getTime() + DAY) // the day after every label's last run
    const counts = await runAll(asOf)
    const readsView = (def: Def) =>
      (compileRule(def, { catalogue: cat, asOf, tz }).scopes ?? []).some((s) => s.table === view)
    const reading = labels.filter((l) => readsView(l.def))
    expect(reading.length).toBeGreaterThan(3)
    expect(reading.map((l) => [l.id, counts.get(l.id)])).toEqual(reading.map((l) => [l.id, null]))
    // The others read no row of it: a truncated table they don't read changes none of their values.
    const others = labels.filter((l) => !readsView(l.def))
    expect(others.length).toBeGreaterThan(3)
    if (!db.citus) expect(others.filter((l) => counts.get(l.id) === null).map((l) => l.id)).toEqual([])
  })
})
