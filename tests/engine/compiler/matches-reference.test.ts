import { afterAll, beforeAll, expect, it } from 'vitest'
import { compileRule } from '../../../engine/compiler/index.ts'
import { loadCatalogue, type Catalogue } from '../../../engine/storage/catalogue.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { evaluateRule } from '../../helpers/reference.ts'
import { ASOF, comparable, generateData, loadData, runCompiled } from '../../helpers/rule-data.ts'

type Def = { dataType: DataType; rule: Rule }
const data = generateData(20240315)

const P = (measure: Extract<Rule, { method: 'metric' }>['measure'], extra: object = {}): Def => ({
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', measure, ...extra } as Rule,
})
const when = (c: object, dataType: DataType = 'string', value: unknown = 'yes', otherwise?: unknown): Def => ({
  dataType,
  rule: { method: 'custom', values: [{ value, when: c }], ...(otherwise === undefined ? {} : { otherwise }) } as Rule,
})

/** One rule per method, measure, window, filter op and condition kind (SPEC §5). */
const cases: Array<[string, Def]> = [
  // measures
  ['metric count', P({ agg: 'count' })],
  ['metric days', P({ agg: 'days' })],
  ['metric sum', P({ agg: 'sum', property: 'amount' })],
  ['metric avg', P({ agg: 'avg', property: 'amount' })],
  ['metric min', P({ agg: 'min', property: 'amount' })],
  ['metric max', P({ agg: 'max', property: 'amount' })],
  ['metric distinct string', P({ agg: 'distinct', property: 'product' })],
  ['metric distinct date', P({ agg: 'distinct', property: 'delivered' })],
  // windows
  ['window lastDays 7', P({ agg: 'count' }, { window: { lastDays: 7 } })],
  ['window lastDays 30', P({ agg: 'days' }, { window: { lastDays: 30 } })],
  ['window from/to across DST', P({ agg: 'count' }, { window: { from: '2024-03-01', to: '2024-03-10' } })],
  ['window to after asOf', P({ agg: 'count' }, { window: { from: '2024-03-10', to: '2024-04-01' } })],
  // filters on properties
  ...(
    [
      ['eq string', { property: 'product', op: 'eq', value: 'apple' }],
      ['neq string (missing counts as not equal)', { property: 'product', op: 'neq', value: 'apple' }],
      ['gt string (code-point order)', { property: 'product', op: 'gt', value: 'banana' }],
      ['lte string', { property: 'product', op: 'lte', value: 'a%b_c' }],
      ['contains (case-sensitive, % literal)', { property: 'product', op: 'contains', value: '%' }],
      ['contains an', { property: 'product', op: 'contains', value: 'an' }],
      ['in strings', { property: 'product', op: 'in', value: ['apple', 'cherry', 'nope'] }],
      ['not_in strings', { property: 'product', op: 'not_in', value: ['apple', 'cherry'] }],
      ['empty in', { property: 'product', op: 'in', value: [] }],
      ['empty not_in', { property: 'product', op: 'not_in', value: [] }],
      ['between strings', { property: 'product', op: 'between', value: ['apple', 'cherry'] }],
      ['is_set', { property: 'amount', op: 'is_set' }],
      ['is_not_set', { property: 'amount', op: 'is_not_set' }],
      ['gt number', { property: 'amount', op: 'gt', value: 100 }],
      ['gte number', { property: 'amount', op: 'gte', value: 100.25 }],
      ['lt number', { property: 'amount', op: 'lt', value: 50 }],
      ['between number', { property: 'amount', op: 'between', value: [20, 80.5] }],
      ['eq number', { property: 'amount', op: 'eq', value: 100 }],
      ['in numbers', { property: 'amount', op: 'in', value: [1, 2.5, 100, 150] }],
      ['not_in numbers', { property: 'amount', op: 'not_in', value: [100, 150] }],
      ['eq boolean', { property: 'paid', op: 'eq', value: true }],
      ['neq boolean', { property: 'paid', op: 'neq', value: true }],
      ['in booleans', { property: 'paid', op: 'in', value: [false] }],
      ['gt date (calendar date in tz)', { property: 'delivered', op: 'gt', value: '2024-03-10' }],
      ['lt date instant', { property: 'delivered', op: 'lt', value: '2024-03-05T12:00:00Z' }],
      [
        'between local date-times',
        { property: 'delivered', op: 'between', value: ['2024-02-20T08:00', '2024-03-01T23:30:00'] },
      ],
      ['in dates', { property: 'delivered', op: 'in', value: ['2024-03-01T05:00:00.000Z', '2024-02-10'] }],
      ['not_in dates', { property: 'delivered', op: 'not_in', value: ['2024-03-01T05:00:00.000Z'] }],
    ] as const
  ).map(([name, f]): [string, Def] => [`filter ${name}`, P({ agg: 'count' }, { where: [f] })]),
  [
    'two filters',
    P(
      { agg: 'sum', property: 'amount' },
      {
        where: [
          { property: 'paid', op: 'eq', value: true },
          { property: 'product', op: 'in', value: ['apple', 'banana'] },
        ],
        window: { lastDays: 20 },
      },
    ),
  ],
  // attribute conditions
  ...(
    [
      ['eq', { attribute: 'city', op: 'eq', value: 'Paris' }],
      ['neq', { attribute: 'city', op: 'neq', value: 'Paris' }],
      ['contains injection', { attribute: 'city', op: 'contains', value: "'; DROP" }],
      ['not_in', { attribute: 'city', op: 'not_in', value: ['Paris', 'Rome'] }],
      ['is_not_set', { attribute: 'age', op: 'is_not_set' }],
      ['between age', { attribute: 'age', op: 'between', value: [20, 40] }],
      ['gte score', { attribute: 'score', op: 'gte', value: 12.5 }],
      ['vip eq false', { attribute: 'vip', op: 'eq', value: false }],
      ['vip neq true', { attribute: 'vip', op: 'neq', value: true }],
      ['signup gte date', { attribute: 'signup', op: 'gte', value: '2024-01-01' }],
      ['signup lt instant', { attribute: 'signup', op: 'lt', value: '2023-06-01T00:00:00+02:00' }],
    ] as const
  ).map(([name, c]): [string, Def] => [`attribute ${name}`, when(c, 'boolean', true, false)]),
  // behaviour conditions
  ['did not purchase (count eq 0)', when({ event: 'purchase', op: 'eq', value: 0 })],
  [
    'count gt with filter',
    when({ event: 'purchase', where: [{ property: 'paid', op: 'eq', value: true }], op: 'gt', value: 3 }),
  ],
  [
    'days between',
    when({ event: 'view', measure: { agg: 'days' }, window: { lastDays: 14 }, op: 'between', value: [2, 5] }),
  ],
  ['sum neq 0', when({ event: 'purchase', measure: { agg: 'sum', property: 'amount' }, op: 'neq', value: 0 })],
  [
    'avg gt: unknown is false',
    when({ event: 'purchase', measure: { agg: 'avg', property: 'amount' }, op: 'gt', value: 90 }),
  ],
  [
    'not avg gt: unknown included',
    when({ not: { event: 'purchase', measure: { agg: 'avg', property: 'amount' }, op: 'gt', value: 90 } }),
  ],
  ['min lte', when({ event: 'purchase', measure: { agg: 'min', property: 'amount' }, op: 'lte', value: 10 })],
  ['max gte', when({ event: 'view', measure: { agg: 'max', property: 'duration' }, op: 'gte', value: 500 })],
  ['distinct lt', when({ event: 'purchase', measure: { agg: 'distinct', property: 'product' }, op: 'lt', value: 2 })],
  [
    'event without properties',
    when({ event: 'login', op: 'gte', value: 1, window: { from: '2024-02-01', to: '2024-03-01' } }),
  ],
  [
    'all/any/not nested',
    when({
      all: [
        {
          any: [
            { attribute: 'city', op: 'in', value: ['Paris', 'Rome'] },
            { event: 'purchase', op: 'gte', value: 5 },
          ],
        },
        { not: { attribute: 'vip', op: 'eq', value: true } },
      ],
    }),
  ],
  // custom layers
  [
    'custom layers first match wins, no otherwise',
    {
      dataType: 'string',
      rule: {
        method: 'custom',
        values: [
          {
            value: 'whale',
            when: { event: 'purchase', measure: { agg: 'sum', property: 'amount' }, op: 'gte', value: 1000 },
          },
          { value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } },
          { value: 'browser', when: { event: 'view', op: 'gte', value: 1, window: { lastDays: 7 } } },
        ],
      },
    },
  ],
  ['custom number values with otherwise', when({ attribute: 'age', op: 'lt', value: 30 }, 'number', 1.5, -2)],
  [
    'custom date values',
    {
      dataType: 'date',
      rule: {
        method: 'custom',
        values: [
          { value: '2024-03-01', when: { attribute: 'vip', op: 'eq', value: true } },
          { value: '2024-02-01T10:00:00Z', when: { attribute: 'vip', op: 'eq', value: false } },
        ],
      },
    },
  ],
  [
    'custom collection values',
    when({ event: 'purchase', op: 'gt', value: 2 }, 'collection', ['loyal', 'buyer', 'loyal'], []),
  ],
  // first/last
  ...(['first', 'last'] as const).flatMap(
    (which): Array<[string, Def]> => [
      [
        `${which} product`,
        { dataType: 'string', rule: { method: 'first_last', which, event: 'purchase', property: 'product' } },
      ],
      [
        `${which} $time`,
        {
          dataType: 'date',
          rule: { method: 'first_last', which, event: 'purchase', property: '$time', window: { lastDays: 30 } },
        },
      ],
      [
        `${which} amount filtered`,
        {
          dataType: 'number',
          rule: {
            method: 'first_last',
            which,
            event: 'purchase',
            property: 'amount',
            where: [{ property: 'paid', op: 'eq', value: true }],
          },
        },
      ],
      [
        `${which} paid`,
        { dataType: 'boolean', rule: { method: 'first_last', which, event: 'purchase', property: 'paid' } },
      ],
      [
        `${which} delivered`,
        { dataType: 'date', rule: { method: 'first_last', which, event: 'purchase', property: 'delivered' } },
      ],
    ],
  ),
  // preference
  [
    'preference top 1 by count',
    { dataType: 'string', rule: { method: 'preference', event: 'purchase', property: 'product' } },
  ],
  [
    'preference top 3 by sum',
    {
      dataType: 'collection',
      rule: {
        method: 'preference',
        event: 'purchase',
        property: 'product',
        top: 3,
        by: { agg: 'sum', property: 'amount' },
      },
    },
  ],
  [
    'preference by avg (missing last)',
    {
      dataType: 'collection',
      rule: {
        method: 'preference',
        event: 'purchase',
        property: 'product',
        top: 6,
        by: { agg: 'avg', property: 'amount' },
      },
    },
  ],
  [
    'preference by days in window',
    {
      dataType: 'string',
      rule: { method: 'preference', event: 'view', property: 'page', by: { agg: 'days' }, window: { lastDays: 21 } },
    },
  ],
  [
    'preference number property as number',
    { dataType: 'number', rule: { method: 'preference', event: 'view', property: 'duration' } },
  ],
  [
    'preference number property as string',
    {
      dataType: 'string',
      rule: { method: 'preference', event: 'purchase', property: 'amount', by: { agg: 'max', property: 'amount' } },
    },
  ],
  [
    'preference boolean top 2',
    { dataType: 'collection', rule: { method: 'preference', event: 'purchase', property: 'paid', top: 2 } },
  ],
  [
    'preference dates top 2',
    { dataType: 'collection', rule: { method: 'preference', event: 'purchase', property: 'delivered', top: 2 } },
  ],
  // distribution
  [
    'distribution of count, default names',
    {
      dataType: 'string',
      rule: { method: 'distribution', event: 'purchase', measure: { agg: 'count' }, boundaries: [1, 5, 10] },
    },
  ],
  [
    'distribution of avg with names',
    {
      dataType: 'string',
      rule: {
        method: 'distribution',
        event: 'purchase',
        measure: { agg: 'avg', property: 'amount' },
        boundaries: [50, 100.5],
        names: ['low', 'mid', 'high'],
      },
    },
  ],
  [
    'distribution in window',
    {
      dataType: 'string',
      rule: {
        method: 'distribution',
        event: 'view',
        measure: { agg: 'sum', property: 'duration' },
        boundaries: [-1, 0, 1000],
        window: { lastDays: 10 },
      },
    },
  ],
]

for (const tz of ['America/New_York', 'Asia/Kolkata']) {
  describeEachDb(`compiled rules match the reference evaluation (${tz})`, (kind) => {
    let db: TestDb
    let catalogue: Catalogue
    beforeAll(async () => {
      db = await newDb(kind)
      await loadData(db, data)
      catalogue = await loadCatalogue(db)
    })
    afterAll(async () => {
      await db.dispose()
    })

    it('ingestion inferred the intended types', () => {
      expect(Object.fromEntries([...catalogue.users.values()].map((c) => [c.name, c.type]))).toEqual(data.userTypes)
      for (const [ev, types] of Object.entries(data.eventTypes)) {
        expect(
          Object.fromEntries([...(catalogue.events.get(ev)?.properties.values() ?? [])].map((c) => [c.name, c.type])),
        ).toEqual(types)
      }
    })

    it.each(cases)('%s', async (_name, def) => {
      const ctx = { catalogue, asOf: ASOF, tz }
      const got = await runCompiled(db, compileRule(def, ctx))
      const want = evaluateRule(data, def, ctx)
      expect(comparable(got)).toEqual(comparable(want))
      // Guard against vacuous cases: every rule here covers someone.
      expect(want.size).toBeGreaterThan(0)
    })
  })
}
