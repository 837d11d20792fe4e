import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { mergeCounts, mergeTextGroups } from '../../../engine/calc/result-delta.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { loadLabelState } from '../../../engine/read/label-state.ts'
import type { ResultSummary } from '../../../engine/read/result-summary.ts'
import { EngineService } from '../../../engine/service.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { expectCountsOfTable, storedSummary } from '../../helpers/stored-counts.ts'

/**
 * A run written in place counts its summary and history snapshot from the difference it wrote
 * (engine/calc/result-delta.ts). Pure merges first, then runs on PGlite and PostgreSQL (Citus
 * always swaps a new table: nothing to check there).
 */

describe('merging counts with a difference', () => {
  it('moves, adds and drops text groups; ranks them in code-point order, lists them by users', () => {
    const prev = [
      { v: 'b', u: 3, r: 2 },
      { v: 'a', u: 1, r: 1 },
      { v: 'c', u: 1, r: 3 },
    ]
    const merged = mergeTextGroups(prev, [
      { v: 'a', users: -1, f: null, t: null },
      { v: '\u{1F600}', users: 2, f: null, t: null },
      { v: '\uFF5E', users: 3, f: null, t: null },
      { v: 'c', users: 2, f: null, t: null },
    ])
    // 'a' reached 0; U+FF5E sorts before U+1F600 in code points (not in UTF-16 units).
    expect(merged).toEqual([
      { v: 'b', u: 3, r: 1 },
      { v: 'c', u: 3, r: 2 },
      { v: '\uFF5E', u: 3, r: 3 },
      { v: '\u{1F600}', u: 2, r: 4 },
    ])
    expect(prev[1]).toEqual({ v: 'a', u: 1, r: 1 }) // the previous summary is left as it was
  })

  it('keeps the interval of a new date group', () => {
    expect(mergeTextGroups([], [{ v: '2024-03-04', users: 1, f: '2024-03-04', t: '2024-03-11' }])).toEqual([
      { v: '2024-03-04', u: 1, f: '2024-03-04', t: '2024-03-11', r: 1 },
    ])
  })

  it('gives up above the group limit or below zero', () => {
    const prev = [{ v: 'a', u: 1, r: 1 }]
    expect(mergeTextGroups(prev, [{ v: 'b', users: 1, f: null, t: null }], 1)).toBeNull()
    expect(mergeTextGroups(prev, [{ v: 'b', users: 1, f: null, t: null }], 2)).not.toBeNull()
    expect(mergeTextGroups(prev, [{ v: 'a', users: -2, f: null, t: null }])).toBeNull()
  })

  it('counts keyed values, keeping zeros only when asked', () => {
    expect(
      mergeCounts<number>(
        [
          [1, 2],
          [2, 1],
        ],
        [
          [2, -1],
          [3, 4],
        ],
      ),
    ).toEqual([
      [1, 2],
      [3, 4],
    ])
    expect(mergeCounts<string>([['[0,5)', 1]], [['[0,5)', -1]], true)).toEqual([['[0,5)', 0]])
    expect(mergeCounts<boolean>([[true, 1]], [[true, -2]])).toBeNull()
  })
})

const DAY = 86_400_000
const T0 = new Date('2024-05-10T12:00:00Z')

const defs: Record<string, Definition> = {
  spent: { dataType: 'number', rule: { method: 'metric', event: 'buy', measure: { agg: 'sum', property: 'amount' } } },
  last_product: {
    dataType: 'string',
    rule: { method: 'first_last', which: 'last', event: 'buy', property: 'product' },
  },
  first_seen: { dataType: 'date', rule: { method: 'first_last', which: 'first', event: 'buy', property: '$time' } },
  products: {
    dataType: 'collection',
    rule: { method: 'preference', event: 'buy', property: 'product', by: { agg: 'count' }, top: 3 },
  },
  vip: {
    dataType: 'boolean',
    rule: {
      method: 'custom',
      values: [{ value: true, when: { attribute: 'vip', op: 'eq', value: true } }],
      otherwise: false,
    },
  },
}

describeEachDb('a run written in place counts its summary and history from what it wrote', (kind) => {
  let db: TestDb
  let svc: EngineService
  let seq = 0

  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
    svc = new EngineService(db, { resultWrites: 'changed' })
    await svc.migrate()
    const users = Array.from({ length: 60 }, (_, i) => ({ user_id: `u${i}`, properties: { vip: i % 4 === 0 } }))
    expect((await ingestUserRecords(db, users)).committed).toBe(true)
    await buy(
      Array.from({ length: 40 }, (_, i) => ({
        user: `u${i}`,
        amount: (i % 7) * 10,
        product: `p${i % 5}`,
        daysAgo: i % 9,
      })),
    )
  })
  afterAll(async () => {
    await db?.dispose()
  })

  async function buy(rows: Array<{ user: string; amount: number; product: string; daysAgo: number }>): Promise<void> {
    const r = await ingestEventRecords(
      db,
      rows.map((x) => ({
        user_id: x.user,
        event: 'buy',
        event_id: `e${seq++}`,
        time: new Date(T0.getTime() - x.daysAgo * DAY - 3_600_000).toISOString(),
        properties: { amount: x.amount, product: x.product },
      })),
    )
    expect(r.committed, JSON.stringify(r.errors?.slice(0, 2))).toBe(true)
  }

  async function run(
    labelId: string,
    def: Definition,
    asOf = T0,
    tz = 'UTC',
  ): Promise<{ how: string; recomputed: number | null }> {
    const created = await svc.createRun({ labelId, trigger: 'manual', asOf: asOf.toISOString(), definition: def })
    const done = await svc.executeRun(created.id, { tz })
    expect(done.status, `${labelId}: ${done.error}`).toBe('succeeded')
    const r = await db.query<{ how: string; n: number | null }>(
      `SELECT result_writes AS how, recomputed_users AS n FROM runs WHERE id = $1`,
      [created.id],
    )
    return { how: String(r.rows[0]?.how), recomputed: r.rows[0]?.n ?? null }
  }

  it('from the previous counts, not from the table: a miscount in them stays (so the other tests would see one)', async () => {
    if (db.citus) return
    for (const [id, def] of Object.entries(defs)) await run(`t_${id}`, def)
    for (const id of Object.keys(defs)) {
      const s = (await loadLabelState(db, `t_${id}`))!
      await db.query(`UPDATE history SET users = users + 1000 WHERE label_id = $1 AND run_id = $2`, [
        s.labelId,
        s.runId,
      ])
      const summary = (await storedSummary(db, s.labelId)) as ResultSummary
      for (const space of Object.values(summary.text ?? {})) for (const g of space?.all ?? []) g.u += 1000
      for (const b of summary.buckets ?? []) b.users += 1000
      summary.numbers = summary.numbers?.map(([v, u]) => [v, u + 1000]) ?? null
      await db.query(`UPDATE label_summary SET summary = $2 WHERE label_id = $1`, [s.labelId, JSON.stringify(summary)])
    }
    await buy([{ user: 'u50', amount: 5, product: 'p1', daysAgo: 1 }])
    await ingestUserRecords(db, [{ user_id: 'u1', properties: { vip: true } }])
    for (const [id, def] of Object.entries(defs)) {
      const r = await run(`t_${id}`, def)
      expect(r.how, id).toBe('changed')
      await expect(expectCountsOfTable(db, `t_${id}`), id).rejects.toThrow(/: summary/)
    }
  })

  it('equal to counting the table: values appearing and vanishing, numbers from exact values to bins and back', async () => {
    if (db.citus) return
    const check = async (asOf = T0) => {
      for (const [id, def] of Object.entries(defs)) {
        await run(id, def, asOf)
        await expectCountsOfTable(db, id)
      }
    }
    await check()
    const spent = async () => (await storedSummary(db, 'spent'))?.numberMode
    expect(await spent()).toBe('exact')
    // 55 more distinct sums: the default buckets become bins
    await buy(
      Array.from({ length: 55 }, (_, i) => ({ user: `u${i}`, amount: 1000 + i * 37, product: 'p9', daysAgo: 0 })),
    )
    await check()
    expect(await spent()).toBe('bins')
    // back to few values: the new events deleted by hand (the change log sees it)
    const buyInfo = (await loadCatalogue(db)).events.get('buy')!
    const table = buyInfo.table
    const product = buyInfo.properties.get('product')!.column
    await db.query(`DELETE FROM ${table} WHERE ${product} = 'p9'`)
    await check()
    expect(await spent()).toBe('exact')
    // users deleted: their values vanish; a day later windows move
    const gone = await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id IN ('u3', 'u4')`)
    await db.query(`DELETE FROM ${table} WHERE uid = ANY($1::int[])`, [gone.rows.map((r) => r.uid)])
    await db.query(`DELETE FROM users WHERE uid = ANY($1::int[])`, [gone.rows.map((r) => r.uid)])
    await check(new Date(T0.getTime() + DAY))
  })

  it('recounts a date label written in place in another time zone', async () => {
    if (db.citus) return
    await run('seen_tz', defs.first_seen!, T0, 'UTC')
    await buy([{ user: 'u55', amount: 1, product: 'p2', daysAgo: 2 }])
    const r = await run('seen_tz', defs.first_seen!, T0, 'Pacific/Kiritimati')
    expect(r.how).toBe('changed')
    expect(r.recomputed).toBeNull() // not incremental: another zone
    await expectCountsOfTable(db, 'seen_tz')
  })
})

describeEachDb('a string label with more values than a summary lists', (kind) => {
  let db: TestDb
  let svc: EngineService

  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
    svc = new EngineService(db, { resultWrites: 'changed' })
    await svc.migrate()
  })
  afterAll(async () => {
    await db?.dispose()
  })

  it('is counted from the table when its groups pass 2,000 and when they come back under', async () => {
    if (db.citus) return
    const def: Definition = {
      dataType: 'string',
      rule: { method: 'first_last', which: 'last', event: 'visit', property: 'page' },
    }
    const visits = (from: number, to: number, page: (i: number) => string) =>
      ingestEventRecords(
        db,
        Array.from({ length: to - from }, (_, k) => ({
          user_id: `v${from + k}`,
          event: 'visit',
          event_id: `visit-${from + k}-${page(from + k)}`,
          time: new Date(T0.getTime() - DAY).toISOString(),
          properties: { page: page(from + k) },
        })),
      )
    const step = async () => {
      const created = await svc.createRun({
        labelId: 'pages',
        trigger: 'manual',
        asOf: T0.toISOString(),
        definition: def,
      })
      expect((await svc.executeRun(created.id, { tz: 'UTC' })).status).toBe('succeeded')
      await expectCountsOfTable(db, 'pages')
      return (await storedSummary(db, 'pages'))?.text?.value
    }
    expect((await visits(0, 1990, (i) => `page-${i}`)).committed).toBe(true)
    expect((await step())?.all?.length).toBe(1990)
    expect((await visits(1990, 2030, (i) => `page-${i}`)).committed).toBe(true)
    const many = await step()
    expect(many?.all).toBeNull()
    expect(many?.lists?.users_desc.length).toBe(50)
    // 100 customers move to one page: 1,930 groups again
    const moved = await ingestEventRecords(
      db,
      Array.from({ length: 100 }, (_, k) => ({
        user_id: `v${k}`,
        event: 'visit',
        event_id: `visit-later-${k}`,
        time: new Date(T0.getTime() - 3_600_000).toISOString(),
        properties: { page: 'checkout' },
      })),
    )
    expect(moved.committed).toBe(true)
    const fewer = await step()
    expect(fewer?.all?.length).toBe(1931)
    expect(fewer?.all?.[0]).toMatchObject({ v: 'checkout', u: 100 })
    // one more customer on a new page: merged from the previous summary
    expect((await visits(5000, 5001, () => 'pricing')).committed).toBe(true)
    expect((await step())?.all?.length).toBe(1932)
  })
})
