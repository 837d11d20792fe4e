/**
 * The server answers distribution and history reads from each run's summary (issue 12). For
 * every data type and query it answers, the summary must give exactly what the database read
 * gives (same items, order, proportions) — including code-point order of values, the top-50
 * lists past maxGroups, and numbers' boundaries.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition, DistributionQuery, HistoryQuery } from '../../../engine/api.ts'
import type { CompileFn } from '../../../engine/calc/execute-run.ts'
import { historyFromDays } from '../../../engine/read/read-model.ts'
import { compareCodePoints } from '../../../engine/read/value-order.ts'
import { distributionFromSummary, maxGroups } from '../../../engine/read/result-summary.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import { describeEachDb } from '../../helpers/db.ts'
import { addUsers, newService, type Fixture } from '../calc/fixture.ts'

const users = 2500
const sources: Record<string, { dataType: DataType; sql: string }> = {
  string: {
    dataType: 'string',
    sql: `SELECT uid, (ARRAY['a','B','ｚ','😀','é','a b','Z'])[1 + (uid * uid) % 7] AS value FROM users`,
  },
  manyStrings: {
    dataType: 'string',
    sql: `SELECT uid, 'v' || (uid % ${maxGroups + 300})::text || CASE WHEN uid % 5 = 0 THEN '' ELSE 'x' END AS value FROM users`,
  },
  collection: {
    dataType: 'collection',
    sql: `SELECT uid, CASE WHEN uid % 4 = 0 THEN ARRAY['x'] WHEN uid % 4 = 1 THEN ARRAY['x','y'] ELSE ARRAY['z','😀'] END AS value FROM users`,
  },
  exactNumbers: {
    dataType: 'number',
    sql: `SELECT uid, (uid % 7)::float8 * 1.5 AS value FROM users WHERE uid % 9 <> 0`,
  },
  manyNumbers: { dataType: 'number', sql: `SELECT uid, uid::float8 / 3 AS value FROM users` },
  // No customer has a value: fixed boundaries still list every interval, with no one in it.
  noNumbers: { dataType: 'number', sql: `SELECT uid, uid::float8 AS value FROM users WHERE false` },
  boolean: { dataType: 'boolean', sql: `SELECT uid, uid % 3 = 0 AS value FROM users` },
  date: {
    dataType: 'date',
    sql: `SELECT uid, timestamptz '2024-01-01 00:00+00' + uid * interval '37 hours' AS value FROM users`,
  },
}

const queries: DistributionQuery[] = [
  {},
  { top: 1 },
  { top: 3, sort: 'value' },
  { sort: 'value', order: 'asc' },
  { sort: 'users', order: 'asc', top: 5 },
  { sort: 'value', order: 'desc', top: 50 },
  { granularity: 'week' },
  { granularity: 'month', sort: 'value', order: 'asc' },
  { granularity: 'week', sort: 'users', order: 'asc', top: 7 },
  { bins: 10 },
  { bins: 7 },
  { boundaries: [1, 5, 100] },
  { boundaries: [0.5] },
  { boundaries: [1.5, 3] },
]

describeEachDb('result summaries answer like the database', (kind) => {
  let f: Fixture
  let current = sources.string!
  const compile: CompileFn = async () => ({ sql: current.sql, params: [] })
  const rule = { method: 'metric', event: 'x', measure: { agg: 'count' } } as unknown as Rule

  beforeAll(async () => {
    f = await newService(kind, compile)
    await addUsers(f.db, users)
  })
  afterAll(async () => f?.dispose())

  async function run(labelId: string, name: string, asOf: string, tz = 'Europe/Paris') {
    current = sources[name]!
    const definition: Definition = { dataType: current.dataType, rule }
    const r = await f.svc.createRun({ labelId, trigger: 'manual', asOf, definition })
    const out = await f.svc.executeRunWithResults(r.id, { tz })
    expect(out.run.status).toBe('succeeded')
    expect(out.results).not.toBeNull()
    return out.results!
  }

  for (const name of Object.keys(sources)) {
    it(`${name}: every query the summary answers matches the database read`, async () => {
      const labelId = `lbl_${name}`
      const results = await run(labelId, name, '2025-03-01T12:00:00Z')
      const [model] = await f.svc.readModels([labelId])
      expect(model!.summary).toEqual(results.summary)
      let answered = 0
      for (const q of queries) {
        const mem = distributionFromSummary(results.summary, q)
        if (mem === null) continue
        answered++
        const db = await f.svc.distribution(labelId, current.dataType, q)
        expect(mem, JSON.stringify(q)).toEqual(db)
      }
      // Text and boolean labels: every query; numbers: all but bins other than the default.
      const notAnswered = queries.length - answered
      if (name === 'manyNumbers')
        expect(notAnswered).toBe(1) // bins=7
      else if (name === 'exactNumbers')
        expect(notAnswered).toBe(2) // bins=10 and bins=7 over exact values
      else expect(notAnswered).toBe(0)
      if (name === 'manyStrings') expect(results.summary.text?.value?.all).toBeNull()
    })
  }

  it('history from memory matches the database read, day by day', async () => {
    const labelId = 'lbl_hist'
    const d1 = await run(labelId, 'string', '2025-03-01T12:00:00Z')
    await run(labelId, 'collection', '2025-03-02T12:00:00Z')
    const again = await run(labelId, 'string', '2025-03-02T13:00:00Z') // replaces day 2
    const [model] = await f.svc.readModels([labelId])
    expect(model!.history!.map((d) => d.date)).toEqual(['2025-03-01', '2025-03-02'])
    expect(model!.history![0]).toEqual(d1.day)
    expect(model!.history![1]).toEqual(again.day)
    const qs: HistoryQuery[] = [
      {},
      { from: '2025-03-02' },
      { to: '2025-03-01' },
      { values: ['ｚ', '😀', 'nope'] },
      { from: '2025-03-01', to: '2025-03-02', values: ['a'] },
    ]
    for (const q of qs)
      expect(historyFromDays(labelId, model!.history!, q), JSON.stringify(q)).toEqual(await f.svc.history(labelId, q))
  })

  it('summarises results that predate summaries once, when the read model is loaded', async () => {
    const labelId = 'lbl_old'
    const results = await run(labelId, 'date', '2025-03-01T12:00:00Z')
    await f.db.query(`DELETE FROM label_summary WHERE label_id = $1`, [labelId])
    const all = await f.svc.readModels(null)
    expect(all.find((m) => m.labelId === labelId)?.summary).toEqual(results.summary)
    const stored = await f.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM label_summary WHERE label_id = $1`, [
      labelId,
    ])
    expect(stored.rows[0]?.n).toBe(1)
    await f.svc.deleteLabelData(labelId)
    expect((await f.svc.readModels([labelId]))[0]).toEqual({ labelId, summary: null, history: [] })
  })

  it('orders strings by code point, as COLLATE "C" does', () => {
    const words = ['ｚ', '😀', 'a', 'Z', 'é', 'a b', '']
    expect([...words].sort(compareCodePoints)).toEqual(['', 'Z', 'a', 'a b', 'é', 'ｚ', '😀'])
  })
})
