import { measureWords, methodWords, opWord } from '../../../shared/rule-words.ts'
import type { DataType, LabelType } from '../../../shared/schemas/label.ts'
import type { Condition, Filter, Rule, Window } from '../../../shared/schemas/rule.ts'

/** The seed's names of the creation methods (one wording with the version diffs). */
export const methodNames = methodWords

export const dataTypeNames: Record<DataType, string> = {
  string: 'String',
  number: 'Number',
  collection: 'Collection',
  date: 'Date',
  boolean: 'Boolean',
}
export const labelTypeNames: Record<LabelType, string> = {
  dynamic: 'Dynamic (recalculated on its schedule)',
  static: 'Static (calculated once)',
}

const val = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(val).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v)

/** "in the last 30 days" / "from 2024-01-01 to 2024-02-01" / "". */
export function windowText(w: Window | undefined): string {
  if (!w) return ''
  return 'lastDays' in w ? ` in the last ${w.lastDays} days` : ` from ${w.from} to ${w.to}`
}

export const measureText = measureWords

function whereText(where: Filter[] | undefined): string {
  if (!where?.length) return ''
  return ` where ${where.map((f) => `${f.property} ${opWord(f.op)}${f.value !== undefined ? ` ${val(f.value)}` : ''}`).join(' and ')}`
}

/** A condition in words, e.g. `count(purchase) in the last 30 days ≥ 1`. */
export function conditionText(c: Condition): string {
  if ('all' in c) return c.all.map((x) => `(${conditionText(x)})`).join(' and ')
  if ('any' in c) return c.any.map((x) => `(${conditionText(x)})`).join(' or ')
  if ('not' in c) return `not (${conditionText(c.not)})`
  if ('attribute' in c) return `${c.attribute} ${opWord(c.op)}${c.value !== undefined ? ` ${val(c.value)}` : ''}`
  return `${measureText(c.measure)} of ${c.event}${whereText(c.where)}${windowText(c.window)} ${opWord(c.op)} ${val(c.value)}`
}

/** The label rule in one or a few lines of words (the basic information's "label rule"). */
export function ruleText(r: Rule): string[] {
  switch (r.method) {
    case 'custom':
      return [
        ...r.values.map((v) => `${val(v.value)} when ${conditionText(v.when)}`),
        ...(r.otherwise !== undefined ? [`otherwise ${val(r.otherwise)}`] : []),
      ]
    case 'metric':
      return [`${measureText(r.measure)} of ${r.event}${whereText(r.where)}${windowText(r.window)}`]
    case 'first_last':
      return [
        `${r.property === '$time' ? 'time' : r.property} of the ${r.which} ${r.event}${whereText(r.where)}${windowText(r.window)}`,
      ]
    case 'preference':
      return [
        `top ${r.top ?? 1} ${r.property} of ${r.event} by ${measureText(r.by)}${whereText(r.where)}${windowText(r.window)}`,
      ]
    case 'distribution':
      return [
        `${measureText(r.measure)} of ${r.event}${whereText(r.where)}${windowText(r.window)} in intervals at ${r.boundaries.join(', ')}${r.names ? ` named ${r.names.join(', ')}` : ''}`,
      ]
    case 'import':
      return ['values uploaded from CSV files (user_id,value)']
  }
}
