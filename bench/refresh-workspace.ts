// The refresh benchmark's workspace (issue 10): 300 dynamic labels due at the same slot, drawn
// from a seed the way operators write them, over the demo shop's six event types (app_open,
// view_product, add_to_cart, purchase, coupon_use, share) and its user attributes. Each label
// comes with the SQL a data team would write by hand for DuckDB: one statement per label, a
// subquery per event scope, the obvious GROUP BY (what the peer runs one by one).
import { makeRng, type Rng } from '../shared/prng.ts'
import type { DataType } from '../shared/schemas/label.ts'
import type { Condition, Filter, Measure, Rule, Window } from '../shared/schemas/rule.ts'
import * as vocab from '../engine/demo/vocabulary.ts'

const dayMs = 86_400_000

export interface BenchLabel {
  id: string
  method: Exclude<Rule['method'], 'import'>
  /** A short description of the label's shape, for the report. */
  shape: string
  def: { dataType: DataType; rule: Rule }
  /** DuckDB SQL giving `(uid, value)` per covered user at asOf (tables of refresh-duckdb.ts). */
  duck: (asOf: Date) => string
}

/** Event properties of the demo shop, with their types (the DuckDB tables have the same columns). */
export const eventProps: Record<string, Record<string, 'string' | 'number'>> = {
  app_open: {},
  view_product: { product_id: 'string', category: 'string', price: 'number' },
  add_to_cart: { product_id: 'string', category: 'string', price: 'number' },
  purchase: { amount: 'number', category: 'string', channel: 'string' },
  coupon_use: { coupon: 'string', discount: 'number' },
  share: { channel: 'string' },
}

// ---------------------------------------------------------------- DuckDB snippets

const lit = (v: string | number | boolean) => (typeof v === 'string' ? `'${v.replaceAll("'", "''")}'` : String(v))
const ts = (ms: number) => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`

function windowDuck(w: Window | undefined, asOf: Date): string {
  const end = `time < ${ts(asOf.getTime())}`
  if (!w) return end
  if ('lastDays' in w) return `time >= ${ts(asOf.getTime() - w.lastDays * dayMs)} AND ${end}`
  return `time >= ${ts(Date.parse(`${w.from}T00:00:00Z`))} AND time < ${ts(Date.parse(`${w.to}T00:00:00Z`))} AND ${end}`
}

function filterDuck(f: Filter, col = f.property): string {
  const v = f.value
  const list = Array.isArray(v) ? v.map(lit).join(', ') : ''
  switch (f.op) {
    case 'eq':
      return `${col} = ${lit(v as string)}`
    case 'neq':
      return `${col} IS DISTINCT FROM ${lit(v as string)}`
    case 'gt':
      return `${col} > ${lit(v as number)}`
    case 'gte':
      return `${col} >= ${lit(v as number)}`
    case 'lt':
      return `${col} < ${lit(v as number)}`
    case 'lte':
      return `${col} <= ${lit(v as number)}`
    case 'in':
      return `${col} IN (${list})`
    case 'not_in':
      return `(${col} IS NULL OR ${col} NOT IN (${list}))`
    case 'contains':
      return `strpos(${col}, ${lit(v as string)}) > 0`
    case 'between': {
      const [a, b] = v as [number, number]
      return `${col} BETWEEN ${lit(a)} AND ${lit(b)}`
    }
    case 'is_set':
      return `${col} IS NOT NULL`
    case 'is_not_set':
      return `${col} IS NULL`
  }
  throw new Error(`no DuckDB form for ${f.op}`)
}

function scopeDuck(s: { window?: Window; where?: Filter[] }, asOf: Date): string {
  return [windowDuck(s.window, asOf), ...(s.where ?? []).map((f) => `(${filterDuck(f)})`)].join(' AND ')
}

function aggDuck(m: Measure): string {
  switch (m.agg) {
    case 'count':
      return 'count(*)'
    case 'days':
      return 'count(DISTINCT CAST(time AS DATE))' // the bench's workspace time zone is UTC
    case 'distinct':
      return `count(DISTINCT ${m.property})`
    default:
      return `${m.agg}(${m.property})`
  }
}
const isAdditive = (m: Measure) => ['count', 'days', 'distinct', 'sum'].includes(m.agg)

// ---------------------------------------------------------------- drawing

const commonDays = [1, 3, 7, 7, 14, 14, 30, 30, 30, 60, 90, 90, 180]

function drawWindow(rng: Rng, asOf: Date): Window | undefined {
  const r = rng.next()
  if (r < 0.8) return { lastDays: rng.bool(0.8) ? rng.pick(commonDays) : rng.int(1, 180) }
  if (r < 0.9) {
    // a calendar range, e.g. "last month" or a campaign's dates, inside the data
    const end = asOf.getTime() - rng.int(0, 40) * dayMs
    const start = end - rng.int(7, 45) * dayMs
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
    return { from: day(start), to: day(end) }
  }
  return undefined // all time
}

const pickSome = <T>(rng: Rng, list: readonly T[], n: number): T[] => {
  const pool = [...list]
  const out: T[] = []
  while (out.length < n && pool.length > 0) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0] as T)
  return out
}

function drawFilter(rng: Rng, event: string): Filter | null {
  const f: Record<string, () => Filter> = {
    category: () =>
      rng.bool(0.5)
        ? { property: 'category', op: 'eq', value: rng.pick(vocab.categories.values) }
        : { property: 'category', op: 'in', value: pickSome(rng, vocab.categories.values, rng.int(2, 3)) },
    price: () => ({ property: 'price', op: 'gte', value: rng.pick([20, 50, 100, 200]) }),
    product_id: () => ({ property: 'product_id', op: 'contains', value: `${rng.pick(['e', 'f', 'b'])}1` }),
    amount: () =>
      rng.bool(0.6)
        ? { property: 'amount', op: 'gte', value: rng.pick([50, 100, 200]) }
        : { property: 'amount', op: 'between', value: [20, rng.pick([100, 300])] },
    channel: () => {
      const values = event === 'share' ? vocab.shareChannels.values : vocab.purchaseChannels.values
      const r = rng.next()
      if (r < 0.5) return { property: 'channel', op: 'eq', value: rng.pick(values) }
      if (r < 0.8) return { property: 'channel', op: 'neq', value: rng.pick(values) }
      return { property: 'channel', op: 'not_in', value: pickSome(rng, values, 2) }
    },
    coupon: () => ({ property: 'coupon', op: 'in', value: pickSome(rng, vocab.coupons.values, 2) }),
    discount: () => ({ property: 'discount', op: 'gte', value: 15 }),
  }
  const props = Object.keys(eventProps[event] ?? {}).filter((p) => p in f)
  if (props.length === 0) return null
  return (f[rng.pick(props)] as () => Filter)()
}

function drawWhere(rng: Rng, event: string): Filter[] | undefined {
  const r = rng.next()
  const n = r < 0.55 ? 0 : r < 0.9 ? 1 : 2
  const out: Filter[] = []
  for (let i = 0; i < n; i++) {
    const f = drawFilter(rng, event)
    if (f && !out.some((g) => g.property === f.property)) out.push(f)
  }
  return out.length ? out : undefined
}

const eventWeights = {
  values: ['app_open', 'view_product', 'add_to_cart', 'purchase', 'coupon_use', 'share'],
  weights: [20, 25, 12, 30, 7, 6],
}

function drawMeasure(rng: Rng, event: string): Measure {
  const numbers = Object.entries(eventProps[event] ?? {})
    .filter(([, t]) => t === 'number')
    .map(([p]) => p)
  const strings = Object.entries(eventProps[event] ?? {})
    .filter(([, t]) => t === 'string')
    .map(([p]) => p)
  const r = rng.next()
  if (r < 0.4 || (numbers.length === 0 && strings.length === 0))
    return rng.bool(0.8) ? { agg: 'count' } : { agg: 'days' }
  if (numbers.length > 0 && r < 0.85) {
    const agg = rng.weighted(['sum', 'avg', 'max', 'min'] as const, [5, 3, 2, 1])
    return { agg, property: rng.pick(numbers) }
  }
  if (strings.length > 0) return { agg: 'distinct', property: rng.pick(strings) }
  return { agg: 'count' }
}

/** One scope + measure read by a label: `(uid, m)` in DuckDB. */
function measureDuck(event: string, scope: { window?: Window; where?: Filter[] }, m: Measure, asOf: Date): string {
  return `SELECT uid, ${aggDuck(m)} AS m FROM ev_${event} WHERE ${scopeDuck(scope, asOf)} GROUP BY uid`
}

function metric(rng: Rng, id: string, asOf0: Date): BenchLabel {
  const event = rng.weighted(eventWeights.values, eventWeights.weights)
  const scope = { window: drawWindow(rng, asOf0), where: drawWhere(rng, event) }
  const measure = drawMeasure(rng, event)
  const rule = { method: 'metric', event, ...scope, measure } as Rule
  return {
    id,
    method: 'metric',
    shape: `${measure.agg}`,
    def: { dataType: 'number', rule },
    duck: (asOf) =>
      isAdditive(measure)
        ? `SELECT u.uid, COALESCE(s.m, 0)::DOUBLE AS value FROM users u LEFT JOIN (${measureDuck(event, scope, measure, asOf)}) s ON s.uid = u.uid`
        : `SELECT uid, m::DOUBLE AS value FROM (${measureDuck(event, scope, measure, asOf)}) s WHERE m IS NOT NULL`,
  }
}

function distribution(rng: Rng, id: string, asOf0: Date): BenchLabel {
  const event = rng.weighted(['purchase', 'app_open', 'view_product', 'add_to_cart'], [5, 3, 3, 1])
  const scope = { window: drawWindow(rng, asOf0), where: drawWhere(rng, event) }
  const measure: Measure =
    event === 'purchase' && rng.bool(0.7)
      ? { agg: rng.bool(0.8) ? 'sum' : 'avg', property: 'amount' }
      : { agg: rng.bool(0.8) ? 'count' : 'days' }
  const money = 'property' in measure
  const boundaries = money
    ? rng.pick([
        [100, 500, 1000],
        [50, 200],
        [1, 100, 300, 1000, 3000],
      ])
    : rng.pick([
        [1, 5, 20],
        [1, 3],
        [2, 10, 50, 100],
      ])
  const names = rng.bool(0.5)
    ? undefined
    : boundaries.map((_, i) => `tier ${i + 1}`).concat([`tier ${boundaries.length + 1}`])
  const labels = names ?? intervalNamesOf(boundaries)
  const rule = { method: 'distribution', event, ...scope, measure, boundaries, ...(names ? { names } : {}) } as Rule
  const cases = (v: string) =>
    `CASE ${boundaries.map((b, i) => `WHEN ${v} < ${b} THEN ${lit(labels[i] as string)}`).join(' ')} ELSE ${lit(labels[boundaries.length] as string)} END`
  return {
    id,
    method: 'distribution',
    shape: measure.agg,
    def: { dataType: 'string', rule },
    duck: (asOf) =>
      isAdditive(measure)
        ? `SELECT u.uid, ${cases('COALESCE(s.m, 0)')} AS value FROM users u LEFT JOIN (${measureDuck(event, scope, measure, asOf)}) s ON s.uid = u.uid`
        : `SELECT uid, ${cases('m')} AS value FROM (${measureDuck(event, scope, measure, asOf)}) s WHERE m IS NOT NULL`,
  }
}

/** The compiler's default interval names, written out again here so the DuckDB SQL stays self-contained. */
function intervalNamesOf(b: number[]): string[] {
  const out = [`(-∞,${b[0]})`]
  for (let i = 0; i < b.length; i++) out.push(`[${b[i]},${b[i + 1] === undefined ? '+∞' : b[i + 1]})`)
  return out
}

function firstLast(rng: Rng, id: string, asOf0: Date): BenchLabel {
  const event = rng.weighted(['purchase', 'view_product', 'share', 'app_open', 'coupon_use'], [5, 3, 1, 2, 1])
  const strings = Object.entries(eventProps[event] ?? {})
    .filter(([, t]) => t === 'string')
    .map(([p]) => p)
  const property = strings.length === 0 || rng.bool(0.2) ? '$time' : rng.pick(strings)
  const which = rng.bool(0.7) ? 'last' : 'first'
  const scope = { window: rng.bool(0.5) ? undefined : drawWindow(rng, asOf0), where: drawWhere(rng, event) }
  const rule = { method: 'first_last', which, event, ...scope, property } as Rule
  return {
    id,
    method: 'first_last',
    shape: property === '$time' ? `${which} time` : `${which} value`,
    def: { dataType: property === '$time' ? 'date' : 'string', rule },
    duck: (asOf) =>
      property === '$time'
        ? `SELECT uid, ${which === 'last' ? 'max' : 'min'}(time) AS value FROM ev_${event} WHERE ${scopeDuck(scope, asOf)} GROUP BY uid`
        : `SELECT uid, ${which === 'last' ? 'arg_max' : 'arg_min'}(${property}, (time, seq)) AS value FROM ev_${event} WHERE ${scopeDuck(scope, asOf)} AND ${property} IS NOT NULL GROUP BY uid`,
  }
}

function preference(rng: Rng, id: string, asOf0: Date): BenchLabel {
  const event = rng.weighted(['view_product', 'purchase', 'add_to_cart', 'share', 'coupon_use'], [5, 4, 2, 1, 1])
  const strings = Object.entries(eventProps[event] ?? {})
    .filter(([p, t]) => t === 'string' && p !== 'product_id')
    .map(([p]) => p)
  const property = rng.pick(strings.length ? strings : ['category'])
  const scope = { window: drawWindow(rng, asOf0) ?? { lastDays: 90 }, where: drawWhere(rng, event) }
  const numbers = Object.entries(eventProps[event] ?? {})
    .filter(([, t]) => t === 'number')
    .map(([p]) => p)
  const by: Measure | undefined =
    numbers.length > 0 && rng.bool(0.3) ? { agg: 'sum', property: rng.pick(numbers) } : undefined
  const top = rng.bool(0.2) ? 3 : 1
  const rule = {
    method: 'preference',
    event,
    ...scope,
    property,
    ...(by ? { by } : {}),
    ...(top > 1 ? { top } : {}),
  } as Rule
  const m = by ? aggDuck(by) : 'count(*)'
  const g = (asOf: Date) =>
    `SELECT uid, ${property} AS v, ${m} AS m FROM ev_${event} WHERE ${scopeDuck(scope, asOf)} AND ${property} IS NOT NULL GROUP BY uid, ${property}`
  return {
    id,
    method: 'preference',
    shape: `top ${top}${by ? ' by sum' : ''}`,
    def: { dataType: top > 1 ? 'collection' : 'string', rule },
    duck: (asOf) =>
      top > 1
        ? `SELECT uid, list(v ORDER BY COALESCE(m, 0) DESC, v)[1:${top}] AS value FROM (${g(asOf)}) g GROUP BY uid`
        : `SELECT uid, v AS value FROM (${g(asOf)}) g QUALIFY row_number() OVER (PARTITION BY uid ORDER BY COALESCE(m, 0) DESC, v) = 1`,
  }
}

// ---------------------------------------------------------------- custom

interface DrawnCondition {
  cond: Condition
  /** SQL over `users u` (with each behaviour's subquery joined as its alias). */
  duck: (asOf: Date, alias: () => string, joins: string[]) => string
}

function behaviour(rng: Rng, asOf0: Date, event?: string): DrawnCondition {
  const ev = event ?? rng.weighted(eventWeights.values, eventWeights.weights)
  const scope = { window: drawWindow(rng, asOf0) ?? { lastDays: 30 }, where: drawWhere(rng, ev) }
  const measure = drawMeasure(rng, ev)
  const threshold =
    measure.agg === 'count' || measure.agg === 'days' || measure.agg === 'distinct'
      ? rng.pick([1, 1, 2, 3, 5, 10])
      : rng.pick([20, 50, 100, 300, 500])
  const op = rng.weighted(['gte', 'gt', 'lt', 'eq', 'between'] as const, [10, 3, 3, 1, 1])
  const value: number | [number, number] = op === 'between' ? [threshold, threshold * 3] : threshold
  const cond = { event: ev, ...scope, measure, op, value } as Condition
  const cmp = (x: string) =>
    op === 'between'
      ? `${x} BETWEEN ${(value as number[])[0]} AND ${(value as number[])[1]}`
      : `${x} ${{ gte: '>=', gt: '>', lt: '<', eq: '=' }[op]} ${value as number}`
  return {
    cond,
    duck: (asOf, alias, joins) => {
      const a = alias()
      joins.push(`LEFT JOIN (${measureDuck(ev, scope, measure, asOf)}) ${a} ON ${a}.uid = u.uid`)
      return isAdditive(measure) ? cmp(`COALESCE(${a}.m, 0)`) : `COALESCE(${cmp(`${a}.m`)}, false)`
    },
  }
}

function attribute(rng: Rng, asOf0: Date): DrawnCondition {
  const r = rng.next()
  let f: Filter
  if (r < 0.35) f = { property: 'membership_level', op: 'in', value: pickSome(rng, ['silver', 'gold', 'platinum'], 2) }
  else if (r < 0.6)
    f = { property: 'city', op: rng.bool(0.8) ? 'in' : 'not_in', value: pickSome(rng, vocab.cities.values, 3) }
  else if (r < 0.8)
    f = rng.bool(0.5) ? { property: 'age', op: 'lt', value: 30 } : { property: 'age', op: 'between', value: [25, 40] }
  else if (r < 0.9) f = { property: 'gender', op: 'eq', value: rng.pick(['female', 'male']) }
  else {
    const since = new Date(asOf0.getTime() - rng.pick([30, 90, 365]) * dayMs).toISOString()
    return {
      cond: { attribute: 'registration_date', op: 'gte', value: since },
      duck: () => `COALESCE(u.registration_date >= ${ts(Date.parse(since))}, false)`,
    }
  }
  const ff = f
  return {
    cond: { attribute: ff.property, op: ff.op, ...(ff.value !== undefined ? { value: ff.value } : {}) } as Condition,
    duck: () => `COALESCE(${filterDuck(ff, `u.${ff.property}`)}, false)`,
  }
}

function combine(kind: 'all' | 'any', items: DrawnCondition[]): DrawnCondition {
  if (items.length === 1) return items[0] as DrawnCondition
  return {
    cond: (kind === 'all' ? { all: items.map((i) => i.cond) } : { any: items.map((i) => i.cond) }) as Condition,
    duck: (asOf, alias, joins) =>
      `(${items.map((i) => i.duck(asOf, alias, joins)).join(kind === 'all' ? ' AND ' : ' OR ')})`,
  }
}
function not(item: DrawnCondition): DrawnCondition {
  return { cond: { not: item.cond }, duck: (asOf, alias, joins) => `(NOT ${item.duck(asOf, alias, joins)})` }
}

function drawCondition(rng: Rng, asOf0: Date): DrawnCondition {
  const r = rng.next()
  if (r < 0.35) return behaviour(rng, asOf0)
  if (r < 0.5) return combine('all', [behaviour(rng, asOf0), attribute(rng, asOf0)])
  if (r < 0.65) return combine('all', [behaviour(rng, asOf0, 'purchase'), behaviour(rng, asOf0)])
  if (r < 0.78) return combine('any', [behaviour(rng, asOf0), behaviour(rng, asOf0)])
  if (r < 0.88) return combine('all', [behaviour(rng, asOf0, 'purchase'), not(behaviour(rng, asOf0, 'app_open'))])
  return attribute(rng, asOf0)
}

function custom(rng: Rng, id: string, asOf0: Date): BenchLabel {
  const boolean = rng.bool(0.3)
  const layers: Array<{ value: string | boolean; cond: DrawnCondition }> = []
  const n = boolean ? 1 : rng.weighted([1, 2, 3, 4], [2, 4, 3, 1])
  const names = ['vip', 'loyal', 'engaged', 'at_risk', 'bargain_hunter', 'browser', 'new', 'lapsed']
  for (let i = 0; i < n; i++)
    layers.push({
      value: boolean ? true : (names.splice(rng.int(0, names.length - 1), 1)[0] as string),
      cond: drawCondition(rng, asOf0),
    })
  const otherwise: string | boolean | undefined = boolean ? false : rng.bool(0.7) ? 'other' : undefined
  const rule = {
    method: 'custom',
    values: layers.map((l) => ({ value: l.value, when: l.cond.cond })),
    ...(otherwise !== undefined ? { otherwise } : {}),
  } as Rule
  return {
    id,
    method: 'custom',
    shape: `${boolean ? 'boolean' : 'string'}, ${n} layer${n > 1 ? 's' : ''}`,
    def: { dataType: boolean ? 'boolean' : 'string', rule },
    duck: (asOf) => {
      const joins: string[] = []
      let k = 0
      const alias = () => `b${k++}`
      const whens = layers.map((l) => `WHEN ${l.cond.duck(asOf, alias, joins)} THEN ${lit(l.value)}`).join(' ')
      const body = `SELECT u.uid, CASE ${whens} ELSE ${otherwise === undefined ? 'NULL' : lit(otherwise)} END AS value FROM users u ${joins.join(' ')}`
      return otherwise === undefined ? `SELECT * FROM (${body}) r WHERE value IS NOT NULL` : body
    },
  }
}

/** The seeded workspace: `count` labels in the proportions of a real one (custom most, then metrics). */
export function refreshWorkspace(count: number, asOf: Date, seed = 10): BenchLabel[] {
  const rng = makeRng(seed)
  const makers = { custom, metric, distribution, preference, first_last: firstLast }
  const methods = Object.keys(makers) as Array<keyof typeof makers>
  const weights = [30, 25, 15, 15, 15]
  const out: BenchLabel[] = []
  for (let i = 0; i < count; i++) {
    // every method at least once, whatever the count
    const method = i < methods.length ? (methods[i] as keyof typeof makers) : rng.weighted(methods, weights)
    out.push(makers[method](rng, `bench_${String(i).padStart(3, '0')}`, asOf))
  }
  return out
}
