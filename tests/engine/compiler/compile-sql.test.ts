import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileRule } from '../../../engine/compiler/index.ts'
import { ingestEventRecords, ingestUserRecords } from '../../../engine/ingest/index.ts'
import { loadCatalogue } from '../../../engine/storage/catalogue.ts'
import { migrate } from '../../../engine/storage/ddl.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { runCompiled } from '../../helpers/rule-data.ts'
import { catalogue } from './catalogue-fixture.ts'

const ctx = { catalogue, asOf: new Date('2024-03-15T12:00:00Z'), tz: 'Europe/Paris' }
const ASOF = '2024-03-15T12:00:00.000Z'

interface Example {
  name: string
  def: { dataType: DataType; rule: Rule }
  sql: string
  params: unknown[]
  rows: Record<string, unknown>
}

/** Representative rules: the exact statement and parameters, then what it returns on the data below. */
const examples: Example[] = [
  {
    name: 'metric: sum over a filtered lastDays window; users without events get 0',
    def: {
      dataType: 'number',
      rule: {
        method: 'metric',
        event: 'purchase',
        where: [{ property: 'product', op: 'in', value: ['apple', 'pear'] }],
        window: { lastDays: 7 },
        measure: { agg: 'sum', property: 'amount' },
      },
    },
    sql: 'WITH s0 AS (SELECT uid, sum(c5) AS m0 FROM ev1 WHERE time >= $2::timestamptz AND time < $1::timestamptz AND (c6 = ANY($3::text[])) GROUP BY uid) SELECT uid, v AS value FROM (SELECT u.uid, COALESCE(s0.m0, 0)::double precision AS v FROM users u LEFT JOIN s0 ON s0.uid = u.uid) r',
    params: [ASOF, '2024-03-08T12:00:00.000Z', ['apple', 'pear']],
    rows: { a: 12, b: 0, c: 0, d: 100 },
  },
  {
    name: 'custom: two conditions on one scope share one aggregation; not(avg > 5) includes users without purchases',
    def: {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'vip',
            when: {
              all: [
                { attribute: 'city', op: 'neq', value: 'Paris' },
                { event: 'purchase', window: { lastDays: 30 }, op: 'gte', value: 3 },
              ],
            },
          },
          {
            value: 'low',
            when: {
              not: {
                event: 'purchase',
                window: { lastDays: 30 },
                measure: { agg: 'avg', property: 'amount' },
                op: 'gt',
                value: 5,
              },
            },
          },
        ],
        otherwise: 'other',
      },
    },
    sql:
      'WITH s0 AS (SELECT uid, count(*) AS m0, avg(c5) AS m1 FROM ev1 WHERE time >= $8::timestamptz AND time < $7::timestamptz GROUP BY uid) ' +
      'SELECT uid, value FROM (SELECT u.uid, CASE WHEN (COALESCE(u.c1 IS DISTINCT FROM $1::text, false) AND COALESCE(s0.m0, 0) >= $2::double precision) THEN $3::text ' +
      'WHEN (NOT COALESCE(s0.m1 > $4::double precision, false)) THEN $5::text ELSE $6::text END AS value FROM users u LEFT JOIN s0 ON s0.uid = u.uid) r WHERE value IS NOT NULL',
    params: ['Paris', 3, 'vip', 5, 'low', 'other', ASOF, '2024-02-14T12:00:00.000Z'],
    rows: { a: 'low', b: 'vip', c: 'low', d: 'other' },
  },
  {
    name: 'custom: scopes of one event table are aggregated in one scan, each measure filtered to its own scope',
    def: {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'apple_fan',
            when: {
              event: 'purchase',
              where: [{ property: 'product', op: 'eq', value: 'apple' }],
              measure: { agg: 'sum', property: 'amount' },
              op: 'gte',
              value: 10,
            },
          },
          { value: 'busy', when: { event: 'purchase', window: { lastDays: 7 }, op: 'gte', value: 3 } },
          {
            value: 'quiet',
            when: {
              not: {
                event: 'purchase',
                window: { lastDays: 7 },
                measure: { agg: 'max', property: 'amount' },
                op: 'gt',
                value: 50,
              },
            },
          },
        ],
        otherwise: 'other',
      },
    },
    sql:
      'WITH s0 AS (SELECT uid, sum(c5) FILTER (WHERE time < $8::timestamptz AND (c6 = $9::text)) AS m0, ' +
      'count(*) FILTER (WHERE time >= $10::timestamptz AND time < $8::timestamptz) AS m1, ' +
      'max(c5) FILTER (WHERE time >= $10::timestamptz AND time < $8::timestamptz) AS m2 FROM ev1 ' +
      'WHERE (time < $8::timestamptz AND (c6 = $9::text)) OR (time >= $10::timestamptz AND time < $8::timestamptz) GROUP BY uid) ' +
      'SELECT uid, value FROM (SELECT u.uid, CASE WHEN COALESCE(s0.m0, 0) >= $1::double precision THEN $2::text ' +
      'WHEN COALESCE(s0.m1, 0) >= $3::double precision THEN $4::text WHEN (NOT COALESCE(s0.m2 > $5::double precision, false)) THEN $6::text ' +
      'ELSE $7::text END AS value FROM users u LEFT JOIN s0 ON s0.uid = u.uid) r WHERE value IS NOT NULL',
    params: [10, 'apple_fan', 3, 'busy', 50, 'quiet', 'other', ASOF, 'apple', '2024-03-08T12:00:00.000Z'],
    // a: apples 10 + 3 (the one at asOf never counts for b); b: 4 purchases in 7 days; c: no
    // purchase, so no max, and not(max > 50) holds; d: one purchase of 100 in the last 7 days.
    rows: { a: 'apple_fan', b: 'busy', c: 'quiet', d: 'other' },
  },
  {
    name: 'first_last: calendar window in the workspace zone; equal times resolved by ingestion order',
    def: {
      dataType: 'string',
      rule: {
        method: 'first_last',
        which: 'last',
        event: 'purchase',
        property: 'product',
        window: { from: '2024-03-01', to: '2024-04-01' },
      },
    },
    sql:
      'SELECT DISTINCT ON (uid) uid, c6 AS value FROM ev1 ' +
      'WHERE time >= ($2::timestamp AT TIME ZONE $3::text) AND time < ($4::timestamp AT TIME ZONE $3::text) AND time < $1::timestamptz AND c6 IS NOT NULL ORDER BY uid, time DESC, seq DESC',
    params: [ASOF, '2024-03-01', 'Europe/Paris', '2024-04-01'],
    rows: { a: 'pear', b: 'kiwi', d: 'pear' },
  },
  {
    name: 'preference: top 2 pages by active days (local days), ties by value',
    def: {
      dataType: 'collection',
      rule: { method: 'preference', event: 'view', property: 'page', top: 2, by: { agg: 'days' } },
    },
    sql:
      'WITH g AS (SELECT uid, c9 AS v, count(DISTINCT (time AT TIME ZONE $1::text)::date) AS m FROM ev2 WHERE time < $2::timestamptz AND c9 IS NOT NULL GROUP BY uid, c9), ' +
      'r AS (SELECT uid, v, row_number() OVER (PARTITION BY uid ORDER BY COALESCE(m, 0) DESC, v COLLATE "C") AS rn FROM g) ' +
      'SELECT uid, array_agg(v ORDER BY rn) AS value FROM r WHERE rn <= $3::int GROUP BY uid',
    params: ['Europe/Paris', ASOF, 2],
    rows: { a: ['home', 'cart'], b: ['cart', 'home'] },
  },
  {
    name: 'distribution: default interval names, events at asOf excluded',
    def: {
      dataType: 'string',
      rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1, 10] },
    },
    sql:
      'WITH s0 AS (SELECT uid, count(*) AS m0 FROM ev1 WHERE time < $6::timestamptz GROUP BY uid) SELECT uid, CASE WHEN v < $1::double precision THEN $2::text ' +
      'WHEN v < $3::double precision THEN $4::text ELSE $5::text END AS value FROM (SELECT u.uid, COALESCE(s0.m0, 0)::double precision AS v FROM users u LEFT JOIN s0 ON s0.uid = u.uid) r',
    params: [1, '(-∞,1)', 10, '[1,10)', '[10,+∞)', ASOF],
    rows: { a: '[1,10)', b: '[1,10)', c: '(-∞,1)', d: '[1,10)' },
  },
]

describe('compileRule emits exact SQL with values only as parameters', () => {
  it.each(examples)('$name', ({ def, sql, params }) => {
    expect(compileRule(def, ctx)).toMatchObject({ sql, params })
  })
})

const p = (product: string, amount: number) => ({ product, amount })
const purchases: Array<[string, string, Record<string, unknown>]> = [
  ['a', '2024-03-14T10:00:00Z', { amount: 10, product: 'apple', paid: true, delivered: '2024-03-16T00:00:00Z' }],
  ['a', '2024-03-14T10:00:00Z', p('pear', 2)], // same time, ingested later: the last one
  ['a', '2024-02-29T22:30:00Z', p('apple', 3)], // 23:30 on Feb 29 in Paris: outside March
  ['b', '2024-03-10T12:00:00Z', p('kiwi', 1)],
  ['b', '2024-03-10T12:00:00Z', p('kiwi', 1)],
  ['b', '2024-03-10T13:00:00Z', p('kiwi', 1)],
  ['b', '2024-03-11T13:00:00Z', p('kiwi', 1)],
  ['b', '2024-03-15T12:00:00Z', p('apple', 50)], // exactly at asOf: never counts
  ['d', '2024-03-08T12:00:00Z', p('pear', 100)], // exactly asOf - 7 days: inside lastDays 7
]
const views: Array<[string, string, string]> = [
  ['a', '2024-03-10T09:00:00Z', 'home'],
  ['a', '2024-03-11T09:00:00Z', 'home'],
  ['a', '2024-03-12T09:00:00Z', 'cart'],
  ['b', '2024-03-10T23:30:00Z', 'cart'], // 00:30 on Mar 11 in Paris
  ['b', '2024-03-11T01:00:00Z', 'cart'], // same local day
  ['b', '2024-03-10T12:00:00Z', 'home'],
]

describeEachDb('the exact statements on a real database', (kind) => {
  let db: TestDb
  beforeAll(async () => {
    db = await newDb(kind)
    await migrate(db)
    await ingestUserRecords(db, [
      { user_id: 'a', properties: { city: 'Paris', age: 30, vip: true, signup: '2023-01-01T00:00:00Z' } },
      { user_id: 'b', properties: { city: 'Rome' } },
      { user_id: 'c' },
      { user_id: 'd', properties: { city: 'Rome' } },
    ])
    await ingestEventRecords(
      db,
      purchases.map(([user_id, time, properties]) => ({ user_id, event: 'purchase', time, properties })),
    )
    await ingestEventRecords(
      db,
      views.map(([user_id, time, page]) => ({ user_id, event: 'view', time, properties: { page } })),
    )
  })
  afterAll(async () => {
    await db.dispose()
  })

  it('lays the data out exactly like the fixture catalogue', async () => {
    expect(await loadCatalogue(db)).toEqual(catalogue)
  })

  it.each(examples)('$name', async ({ def, rows }) => {
    expect(Object.fromEntries(await runCompiled(db, compileRule(def, ctx)))).toEqual(rows)
  })
})
