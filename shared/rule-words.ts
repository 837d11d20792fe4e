import { isFilterOp, opWords } from './operators.ts'
import type { Schedule } from './schemas/label.ts'
import type { Condition, Filter, Measure, Rule, RuleMethod, Window } from './schemas/rule.ts'

/**
 * Rules and definition fields in operator words, for version diffs (shared/rule-diff.ts).
 * Pure and isomorphic; the wording follows the label page's rule summary.
 */

/** The seed's names of the creation methods. */
export const methodWords: Record<RuleMethod, string> = {
  custom: 'Custom label values',
  metric: 'Basic metric value',
  first_last: 'First/last feature',
  preference: 'Event preference attribute',
  distribution: 'Behaviour distribution result',
  import: 'Import',
}

/** An operator as a symbol or words (`gte` → `≥`; shared/operators.ts). */
export const opWord = (op: string): string => (isFilterOp(op) ? opWords[op] : op)

/** A JSON value as an operator reads it: strings quoted, `undefined`/`null` as "no value". */
export function valueWords(v: unknown): string {
  if (v === undefined || v === null) return 'no value'
  if (Array.isArray(v)) return `[${v.map(valueWords).join(', ')}]`
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** "last 30 days" / "2024-01-01 to 2024-02-01" / "all time". */
export function windowWords(w: Window | undefined): string {
  if (!w) return 'all time'
  return 'lastDays' in w ? `last ${w.lastDays} day${w.lastDays === 1 ? '' : 's'}` : `${w.from} to ${w.to}`
}

/** "count", "active days", "sum(amount)". */
export function measureWords(m: Measure | undefined): string {
  if (!m) return 'count'
  if ('property' in m) return `${m.agg}(${m.property})`
  return m.agg === 'days' ? 'active days' : 'count'
}

/** `amount ≥ 10`, `city is set`. */
export function filterWords(f: Filter): string {
  return `${f.property} ${opWord(f.op)}${f.value !== undefined ? ` ${valueWords(f.value)}` : ''}`
}

/** "where a and b", or "" without filters. */
export function whereWords(where: Filter[] | undefined): string {
  return where?.length ? ` where ${where.map(filterWords).join(' and ')}` : ''
}

/** `≥ 1`, `between 1 and 5`. */
export function comparisonWords(op: string, value: unknown): string {
  if (op === 'between' && Array.isArray(value)) return `between ${valueWords(value[0])} and ${valueWords(value[1])}`
  return `${opWord(op)} ${valueWords(value)}`
}

/** A condition in one line, e.g. `count of purchase in the last 30 days ≥ 1`. */
export function conditionWords(c: Condition): string {
  if ('all' in c) return c.all.map((x) => `(${conditionWords(x)})`).join(' and ')
  if ('any' in c) return c.any.map((x) => `(${conditionWords(x)})`).join(' or ')
  if ('not' in c) return `not (${conditionWords(c.not)})`
  if ('attribute' in c) return `${c.attribute} ${opWord(c.op)}${c.value !== undefined ? ` ${valueWords(c.value)}` : ''}`
  const w = c.window ? ` in the ${windowWords(c.window)}` : ''
  return `${measureWords(c.measure)} of ${c.event}${whereWords(c.where)}${w} ${comparisonWords(c.op, c.value)}`
}

/** A rule in one line (used when a rule is replaced by one of another method). */
export function ruleWords(r: Rule): string {
  const scope = (e: { event: string; where?: Filter[]; window?: Window }) =>
    `${e.event}${whereWords(e.where)}${e.window ? ` in the ${windowWords(e.window)}` : ''}`
  switch (r.method) {
    case 'custom':
      return [
        ...r.values.map((v) => `${valueWords(v.value)} when ${conditionWords(v.when)}`),
        `otherwise ${valueWords(r.otherwise)}`,
      ].join('; ')
    case 'metric':
      return `${measureWords(r.measure)} of ${scope(r)}`
    case 'first_last':
      return `${r.property === '$time' ? 'time' : r.property} of the ${r.which} ${scope(r)}`
    case 'preference':
      return `top ${r.top ?? 1} ${r.property} of ${scope(r)} by ${measureWords(r.by)}`
    case 'distribution':
      return `${measureWords(r.measure)} of ${scope(r)} at boundaries [${r.boundaries.join(',')}]${r.names ? ` named ${r.names.join(', ')}` : ''}`
    case 'import':
      return 'values uploaded from CSV files'
  }
}

const weekdays = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']

/** "once", "daily at 06:00", "weekly on Monday at 06:00", "monthly on day 31 at 06:00". */
export function scheduleWords(s: Schedule): string {
  switch (s.kind) {
    case 'once':
      return 'once'
    case 'daily':
      return `daily at ${s.at}`
    case 'weekly':
      return `weekly on ${weekdays[s.weekday - 1] ?? s.weekday} at ${s.at}`
    case 'monthly':
      return `monthly on day ${s.day} at ${s.at}`
  }
}
