/**
 * An independent, deliberately naive evaluation of rules (SPEC §5) in plain TypeScript,
 * used as the oracle for the SQL compiler. It shares no code with engine/compiler: it reads
 * the rule JSON directly and loops over in-memory users and events.
 *
 * The semantics it pins (and the compiler documents):
 * - missing values never satisfy eq/gt/in/contains/between…; neq/not_in/is_not_set are
 *   their exact complements, so they match missing values;
 * - strings compare by code unit (JS `<`), `contains` is case-sensitive;
 * - a condition whose measure has no value (avg/min/max without events) is false, and
 *   `not` is plain negation of that;
 * - lastDays n = [asOf − n·24h, asOf); {from,to} are local midnights in the workspace zone;
 * - first/last only consider events where the property is set; ties by ingestion order;
 * - preference ranks by the measure (additive: missing = 0; others: missing last), then
 *   value ascending.
 */
import type { DataType } from '../../shared/schemas/label.ts'
import type { Condition, Filter, Measure, Rule, Window } from '../../shared/schemas/rule.ts'

export type Val = string | number | boolean
export type PropType = 'string' | 'number' | 'boolean' | 'date'

export interface RefUser {
  user_id: string
  attrs: Record<string, Val | undefined>
}
/** `time` in epoch ms; `seq` = ingestion order. Date properties are ISO strings. */
export interface RefEvent {
  user_id: string
  event: string
  time: number
  seq: number
  props: Record<string, Val | undefined>
}
export interface RefData {
  users: RefUser[]
  events: RefEvent[]
  /** Types of user attributes and of each event's properties. */
  userTypes: Record<string, PropType>
  eventTypes: Record<string, Record<string, PropType>>
}
export interface RefCtx {
  asOf: Date
  tz: string
}

const DAY = 86_400_000

// ---- time zones (Intl only) ----

const partsFmt = new Map<string, Intl.DateTimeFormat>()
function wallClock(ms: number, tz: string): number {
  let f = partsFmt.get(tz)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    partsFmt.set(tz, f)
  }
  const p: Record<string, number> = {}
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value)
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + (((ms % 1000) + 1000) % 1000)
}

/** Epoch ms of a wall-clock time (given as if UTC) in `tz`. */
export function zonedToUtc(wallMs: number, tz: string): number {
  let guess = wallMs - (wallClock(wallMs, tz) - wallMs)
  guess = wallMs - (wallClock(guess, tz) - guess)
  return guess
}

/** YYYY-MM-DD of an instant in `tz`. */
export function localDate(ms: number, tz: string): string {
  return new Date(wallClock(ms, tz)).toISOString().slice(0, 10)
}

/** Epoch ms of an ISO literal: zoneless forms are wall-clock times in `tz`. */
export function isoToMs(s: string, tz: string): number {
  const zoned = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(s.slice(10))
  if (zoned) return Date.parse(s)
  const [d, t = '00:00:00'] = s.split(/[T ]/) as [string, string | undefined]
  return zonedToUtc(Date.parse(`${d}T${t.length === 5 ? t + ':00' : t}Z`), tz)
}

// ---- values ----

/** Comparable form: dates → ms, others as they are. */
function key(v: Val, type: PropType, tz: string): number | string | boolean {
  return type === 'date' ? isoToMs(String(v), tz) : v
}
function cmp(a: number | string | boolean, b: number | string | boolean): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function matches(actual: Val | undefined, type: PropType, op: Filter['op'], value: unknown, tz: string): boolean {
  const k = (v: unknown) => key(v as Val, type, tz)
  const has = actual !== undefined
  const a = has ? k(actual) : undefined
  switch (op) {
    case 'is_set':
      return has
    case 'is_not_set':
      return !has
    case 'eq':
      return has && a === k(value)
    case 'neq':
      return !matches(actual, type, 'eq', value, tz)
    case 'gt':
      return has && cmp(a!, k(value)) > 0
    case 'gte':
      return has && cmp(a!, k(value)) >= 0
    case 'lt':
      return has && cmp(a!, k(value)) < 0
    case 'lte':
      return has && cmp(a!, k(value)) <= 0
    case 'contains':
      return has && String(actual).includes(String(value))
    case 'in':
      return has && (value as unknown[]).some((v) => k(v) === a)
    case 'not_in':
      return !matches(actual, type, 'in', value, tz)
    case 'between': {
      const [lo, hi] = value as [unknown, unknown]
      return has && cmp(a!, k(lo)) >= 0 && cmp(a!, k(hi)) <= 0
    }
  }
}

function inWindow(t: number, w: Window | undefined, ctx: RefCtx): boolean {
  const asOf = ctx.asOf.getTime()
  if (t >= asOf) return false
  if (!w) return true
  if ('lastDays' in w) return t >= asOf - w.lastDays * DAY
  return t >= isoToMs(w.from, ctx.tz) && t < isoToMs(w.to, ctx.tz)
}

interface Scope {
  event: string
  where?: Filter[]
  window?: Window
}

function scopeEvents(data: RefData, s: Scope, ctx: RefCtx): Map<string, RefEvent[]> {
  const types = data.eventTypes[s.event] ?? {}
  const out = new Map<string, RefEvent[]>()
  for (const e of data.events) {
    if (e.event !== s.event || !inWindow(e.time, s.window, ctx)) continue
    if (!(s.where ?? []).every((f) => matches(e.props[f.property], types[f.property]!, f.op, f.value, ctx.tz))) continue
    const list = out.get(e.user_id) ?? []
    list.push(e)
    out.set(e.user_id, list)
  }
  return out
}

const additiveAggs = new Set(['count', 'days', 'distinct', 'sum'])

/** A measure over one user's events; undefined = no value (avg/min/max without values). */
function measure(events: RefEvent[], m: Measure, ctx: RefCtx, types: Record<string, PropType>): number | undefined {
  if (m.agg === 'count') return events.length
  if (m.agg === 'days') return new Set(events.map((e) => localDate(e.time, ctx.tz))).size
  if (!('property' in m)) throw new Error('unreachable')
  const vals = events.map((e) => e.props[m.property]).filter((v): v is Val => v !== undefined)
  if (m.agg === 'distinct') return new Set(vals.map((v) => String(key(v, types[m.property]!, ctx.tz)))).size
  const nums = vals as number[]
  if (m.agg === 'sum') return nums.reduce((s, x) => s + x, 0)
  if (nums.length === 0) return undefined
  if (m.agg === 'avg') return nums.reduce((s, x) => s + x, 0) / nums.length
  return m.agg === 'min' ? Math.min(...nums) : Math.max(...nums)
}

function userMeasure(data: RefData, s: Scope, m: Measure, ctx: RefCtx): (userId: string) => number | undefined {
  const byUser = scopeEvents(data, s, ctx)
  const types = data.eventTypes[s.event] ?? {}
  return (userId) => {
    const evs = byUser.get(userId)
    if (!evs) return additiveAggs.has(m.agg) ? 0 : undefined
    return measure(evs, m, ctx, types)
  }
}

function holds(
  data: RefData,
  c: Condition,
  u: RefUser,
  ctx: RefCtx,
  memo: Map<object, (id: string) => number | undefined>,
): boolean {
  if ('all' in c) return c.all.every((x) => holds(data, x, u, ctx, memo))
  if ('any' in c) return c.any.some((x) => holds(data, x, u, ctx, memo))
  if ('not' in c) return !holds(data, c.not, u, ctx, memo)
  if ('attribute' in c) return matches(u.attrs[c.attribute], data.userTypes[c.attribute]!, c.op, c.value, ctx.tz)
  let f = memo.get(c)
  if (!f) memo.set(c, (f = userMeasure(data, c, c.measure ?? { agg: 'count' }, ctx)))
  const v = f(u.user_id)
  if (v === undefined) return false
  switch (c.op) {
    case 'gt':
      return v > (c.value as number)
    case 'gte':
      return v >= (c.value as number)
    case 'lt':
      return v < (c.value as number)
    case 'lte':
      return v <= (c.value as number)
    case 'eq':
      return v === c.value
    case 'neq':
      return v !== c.value
    case 'between': {
      const [lo, hi] = c.value as [number, number]
      return v >= lo && v <= hi
    }
  }
}

/** A label value as the tests compare them: dates as ISO instants, collections as arrays. */
export type RefValue = string | number | boolean | string[]

function asLabelValue(v: unknown, dataType: DataType, tz: string): RefValue {
  if (dataType === 'date') return new Date(isoToMs(String(v), tz)).toISOString()
  if (dataType === 'collection') return [...new Set(v as string[])]
  return v as RefValue
}

function textOf(v: Val, type: PropType, tz: string): string {
  return type === 'date' ? new Date(isoToMs(String(v), tz)).toISOString() : String(v)
}

function intervalName(b: number[], i: number): string {
  const f = (n: number) => String(n)
  if (i === 0) return `(-∞,${f(b[0]!)})`
  return `[${f(b[i - 1]!)},${i === b.length ? '+∞' : f(b[i]!)})`
}

/** Every covered user's value of a rule as of ctx.asOf. */
export function evaluateRule(
  data: RefData,
  def: { dataType: DataType; rule: Rule },
  ctx: RefCtx,
): Map<string, RefValue> {
  const out = new Map<string, RefValue>()
  const rule = def.rule
  switch (rule.method) {
    case 'custom': {
      const memo = new Map()
      for (const u of data.users) {
        const layer = rule.values.find((l) => holds(data, l.when, u, ctx, memo))
        const v = layer ? layer.value : rule.otherwise
        if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) continue // an empty collection is no value
        out.set(u.user_id, asLabelValue(v, def.dataType, ctx.tz))
      }
      return out
    }
    case 'metric':
    case 'distribution': {
      const f = userMeasure(data, rule, rule.measure, ctx)
      for (const u of data.users) {
        const v = f(u.user_id)
        if (v === undefined) continue
        if (rule.method === 'metric') out.set(u.user_id, v)
        else {
          const i = rule.boundaries.findIndex((b) => v < b)
          const idx = i === -1 ? rule.boundaries.length : i
          out.set(u.user_id, rule.names ? rule.names[idx]! : intervalName(rule.boundaries, idx))
        }
      }
      return out
    }
    case 'first_last': {
      for (const [userId, evs] of scopeEvents(data, rule, ctx)) {
        const set = rule.property === '$time' ? evs : evs.filter((e) => e.props[rule.property] !== undefined)
        if (set.length === 0) continue
        const sorted = [...set].sort((a, b) => a.time - b.time || a.seq - b.seq)
        const e = rule.which === 'first' ? sorted[0]! : sorted[sorted.length - 1]!
        const type = rule.property === '$time' ? 'date' : data.eventTypes[rule.event]![rule.property]!
        const raw = rule.property === '$time' ? new Date(e.time).toISOString() : e.props[rule.property]!
        out.set(userId, type === 'date' ? new Date(isoToMs(String(raw), ctx.tz)).toISOString() : raw)
      }
      return out
    }
    case 'preference': {
      const types = data.eventTypes[rule.event]!
      const type = types[rule.property]!
      const by = rule.by ?? { agg: 'count' }
      const top = rule.top ?? 1
      for (const [userId, evs] of scopeEvents(data, rule, ctx)) {
        const groups = new Map<string | number | boolean, { value: Val; evs: RefEvent[] }>()
        for (const e of evs) {
          const v = e.props[rule.property]
          if (v === undefined) continue
          const k = key(v, type, ctx.tz)
          const g = groups.get(k) ?? { value: v, evs: [] }
          g.evs.push(e)
          groups.set(k, g)
        }
        if (groups.size === 0) continue
        const ranked = [...groups.entries()].map(([k, g]) => {
          const m = measure(g.evs, by, ctx, types)
          return { k, value: g.value, m: m === undefined ? (additiveAggs.has(by.agg) ? 0 : undefined) : m }
        })
        ranked.sort((a, b) => {
          if (a.m !== b.m) {
            if (a.m === undefined) return 1
            if (b.m === undefined) return -1
            return b.m - a.m
          }
          return cmp(a.k, b.k)
        })
        if (top === 1) {
          const best = ranked[0]!
          out.set(
            userId,
            def.dataType === 'string'
              ? textOf(best.value, type, ctx.tz)
              : type === 'date'
                ? textOf(best.value, type, ctx.tz)
                : best.value,
          )
        } else
          out.set(
            userId,
            ranked.slice(0, top).map((r) => textOf(r.value, type, ctx.tz)),
          )
      }
      return out
    }
    case 'import':
      throw new Error('import rules have no reference evaluation')
  }
}
