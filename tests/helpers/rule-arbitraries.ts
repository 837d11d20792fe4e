// Arbitraries of label definitions within the rule schema, with values drawn from the domains of
// tests/helpers/rule-data.ts (the random-rule test and the random refresh workloads use them).
import fc from 'fast-check'
import type { DataType } from '../../shared/schemas/label.ts'
import type { Condition, Filter, FilterOp, Measure, Rule, Window } from '../../shared/schemas/rule.ts'
import type { PropType } from './reference.ts'
import { CITIES, eventTypes, PAGES, PRODUCTS, userTypes } from './rule-data.ts'

// ---- arbitraries: rules within the schema, with values drawn from the data's domains ----

const stringValues: Record<string, readonly string[]> = {
  product: [...PRODUCTS, 'b', 'zz'],
  page: [...PAGES, 'c'],
  city: [...CITIES, 'P'],
}
const dates = [
  '2024-03-01',
  '2024-03-10',
  '2024-02-20T08:00',
  '2024-03-10T04:00:00Z',
  '2024-03-05T12:00:00.000Z',
  '2023-09-01',
  '2024-03-20',
]

function valueArb(name: string, type: PropType): fc.Arbitrary<string | number | boolean> {
  switch (type) {
    case 'string':
      return fc.constantFrom(...(stringValues[name] ?? ['x']))
    case 'number':
      return fc.oneof(
        fc.integer({ min: -10, max: 800 }).map((n) => n / 4),
        fc.integer({ min: 0, max: 600 }),
      )
    case 'boolean':
      return fc.boolean()
    case 'date':
      return fc.constantFrom(...dates)
  }
}

const opsFor = (type: PropType): FilterOp[] => {
  const all: FilterOp[] = ['eq', 'neq', 'in', 'not_in', 'is_set', 'is_not_set']
  if (type === 'boolean') return all
  return [...all, 'gt', 'gte', 'lt', 'lte', 'between', ...(type === 'string' ? (['contains'] as FilterOp[]) : [])]
}

function predicateArb(name: string, type: PropType): fc.Arbitrary<{ op: FilterOp; value?: Filter['value'] }> {
  const v = valueArb(name, type)
  return fc.constantFrom(...opsFor(type)).chain((op): fc.Arbitrary<{ op: FilterOp; value?: Filter['value'] }> => {
    if (op === 'is_set' || op === 'is_not_set') return fc.constant({ op })
    if (op === 'in' || op === 'not_in') return fc.array(v, { maxLength: 4 }).map((value) => ({ op, value }))
    if (op === 'between') return fc.tuple(v, v).map(([a, b]) => ({ op, value: [a, b] }))
    if (op === 'contains') return fc.constantFrom('a', 'an', 'A', '%', 'ri', 'zz').map((value) => ({ op, value }))
    return v.map((value) => ({ op, value }))
  })
}

type EventName = keyof typeof eventTypes
const props = (event: EventName) => Object.entries(eventTypes[event]) as Array<[string, PropType]>

const filterArb = (event: EventName): fc.Arbitrary<Filter> =>
  fc
    .constantFrom(...props(event))
    .chain(([property, type]) => predicateArb(property, type).map((p) => ({ property, ...p }) as Filter))

const windowArb: fc.Arbitrary<Window | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 1, max: 60 }).map((lastDays) => ({ lastDays })),
  fc.constantFrom<Window>(
    { from: '2024-03-01', to: '2024-03-10' },
    { from: '2024-02-01', to: '2024-03-16' },
    { from: '2024-03-14', to: '2024-03-15' },
    { from: '2024-03-15', to: '2024-04-01' },
  ),
)

const measureArb = (event: EventName): fc.Arbitrary<Measure> => {
  const nums = props(event)
    .filter(([, t]) => t === 'number')
    .map(([p]) => p)
  const all = props(event).map(([p]) => p)
  const arbs: Array<fc.Arbitrary<Measure>> = [fc.constantFrom<Measure>({ agg: 'count' }, { agg: 'days' })]
  if (nums.length)
    arbs.push(
      fc
        .tuple(fc.constantFrom('sum', 'avg', 'min', 'max') as fc.Arbitrary<'sum'>, fc.constantFrom(...nums))
        .map(([agg, property]) => ({ agg, property })),
    )
  if (all.length) arbs.push(fc.constantFrom(...all).map((property) => ({ agg: 'distinct', property }) as Measure))
  return fc.oneof(...arbs)
}

const scopeArb = <E extends EventName>(events: readonly E[]) =>
  fc.constantFrom(...events).chain((event) =>
    fc.record({
      event: fc.constant(event),
      where: props(event).length
        ? fc.option(fc.array(filterArb(event), { maxLength: 2 }), { nil: undefined })
        : fc.constant(undefined),
      window: windowArb,
    }),
  )
const clean = <T extends object>(o: T): T => JSON.parse(JSON.stringify(o)) as T

const behaviourArb: fc.Arbitrary<Condition> = scopeArb(['purchase', 'view', 'login'] as const).chain((s) =>
  fc
    .record({
      measure: fc.option(measureArb(s.event), { nil: undefined }),
      cmp: fc.oneof(
        fc
          .tuple(
            fc.constantFrom('gt', 'gte', 'lt', 'lte', 'eq', 'neq') as fc.Arbitrary<'gt'>,
            fc.integer({ min: 0, max: 8 }).map((n) => n * (n > 4 ? 25 : 1)),
          )
          .map(([op, value]) => ({ op, value })),
        fc
          .tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 300 }))
          .map(([a, b]) => ({ op: 'between' as const, value: [a, b] as [number, number] })),
      ),
    })
    .map(({ measure, cmp }) => clean({ ...s, ...(measure ? { measure } : {}), ...cmp }) as Condition),
)

const attributeArb: fc.Arbitrary<Condition> = fc
  .constantFrom(...(Object.entries(userTypes) as Array<[string, PropType]>))
  .chain(([attribute, type]) => predicateArb(attribute, type).map((p) => ({ attribute, ...p }) as Condition))

const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ c: Condition }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    attributeArb,
    behaviourArb,
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('c'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('c').map((not) => ({ not })),
  ),
})).c

export type Def = { dataType: DataType; rule: Rule }

const layerValueArb: Record<DataType, fc.Arbitrary<unknown>> = {
  string: fc.constantFrom('gold', 'silver', `'; DROP TABLE users; --`),
  number: fc.integer({ min: -8, max: 8 }).map((n) => n / 2),
  boolean: fc.boolean(),
  date: fc.constantFrom(...dates),
  collection: fc.uniqueArray(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
}

const customArb: fc.Arbitrary<Def> = fc
  .tuple(
    fc.constantFrom<DataType>('string', 'string', 'number', 'boolean', 'date', 'collection'),
    fc.array(conditionArb, { minLength: 1, maxLength: 4 }),
  )
  .chain(([dataType, whens]) =>
    fc
      .tuple(
        fc.array(layerValueArb[dataType], { minLength: whens.length, maxLength: whens.length }),
        fc.option(layerValueArb[dataType], { nil: undefined }),
      )
      .map(
        ([values, otherwise]): Def => ({
          dataType,
          rule: {
            method: 'custom',
            values: whens.map((when, i) => ({ value: values[i], when })),
            ...(otherwise === undefined ? {} : { otherwise }),
          },
        }),
      ),
  )

const eventScope = scopeArb(['purchase', 'view'] as const)

const metricArb: fc.Arbitrary<Def> = eventScope.chain((s) =>
  measureArb(s.event).map((measure): Def => ({ dataType: 'number', rule: clean({ method: 'metric', ...s, measure }) })),
)

const firstLastArb: fc.Arbitrary<Def> = eventScope.chain((s) =>
  fc
    .tuple(
      fc.constantFrom('first', 'last') as fc.Arbitrary<'first'>,
      fc.constantFrom<[string, PropType]>(['$time', 'date'], ...props(s.event)),
    )
    .map(
      ([which, [property, type]]): Def => ({
        dataType: type,
        rule: clean({ method: 'first_last', which, ...s, property }),
      }),
    ),
)

const preferenceArb: fc.Arbitrary<Def> = eventScope.chain((s) =>
  fc
    .record({
      prop: fc.constantFrom(...props(s.event)),
      by: fc.option(measureArb(s.event), { nil: undefined }),
      top: fc.integer({ min: 1, max: 4 }),
    })
    .map(
      ({ prop: [property, type], by, top }): Def => ({
        dataType: top > 1 ? 'collection' : type === 'date' ? 'date' : 'string',
        rule: clean({ method: 'preference', ...s, property, ...(by ? { by } : {}), top }),
      }),
    ),
)

const distributionArb: fc.Arbitrary<Def> = eventScope.chain((s) =>
  fc
    .record({
      measure: measureArb(s.event),
      boundaries: fc.uniqueArray(
        fc.integer({ min: -4, max: 60 }).map((n) => n * 2.5),
        { minLength: 1, maxLength: 5 },
      ),
      named: fc.boolean(),
    })
    .map(({ measure, boundaries, named }): Def => {
      const b = [...boundaries].sort((x, y) => x - y)
      return {
        dataType: 'string',
        rule: clean({
          method: 'distribution',
          ...s,
          measure,
          boundaries: b,
          ...(named ? { names: [...b, 0].map((_, i) => `bucket ${i}`) } : {}),
        }),
      }
    }),
)

export const ruleArb: fc.Arbitrary<Def> = fc.oneof(
  customArb,
  customArb,
  metricArb,
  firstLastArb,
  preferenceArb,
  distributionArb,
)
