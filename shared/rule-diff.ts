import type { Label, Schedule } from './schemas/label.ts'
import type { Condition, CustomRule, Filter, Measure, Rule, Window } from './schemas/rule.ts'
import {
  comparisonWords,
  conditionWords,
  filterWords,
  measureWords,
  methodWords,
  ruleWords,
  scheduleWords,
  valueWords,
  windowWords,
} from './rule-words.ts'

/**
 * Readable, field-by-field differences between two label definitions (version history).
 * Inside the rule the diff follows the rule's structure (layers, conditions, windows,
 * measures, boundaries), so an operator reads "Layer 2 'VIP': condition 1 window changed
 * from last 30 days to last 7 days" rather than two JSON blobs. Pure and deterministic.
 */

/** What a version stores of a label: the fields of docs/model.md#label-fields (no id, order or timestamps). */
export type LabelDefinition = Omit<Label, 'id' | 'createdAt' | 'updatedAt'>

/** The fields whose change makes a new version. `groupId` is not one: see versionedFields' note. */
export const definitionFields = [
  'name',
  'displayName',
  'groupId',
  'dataType',
  'labelType',
  'schedule',
  'enabled',
  'description',
  'rule',
] as const
export type DefinitionField = (typeof definitionFields)[number]

/**
 * Moving a label (another group or position) is organising the tree, not changing what the
 * label means, so it alone makes no version; the group is still kept in each version and
 * shown in a diff when it moved together with one of these.
 */
export const versionedFields: readonly DefinitionField[] = [
  'name',
  'displayName',
  'dataType',
  'labelType',
  'schedule',
  'enabled',
  'description',
  'rule',
]

/** One readable difference. `path` is a JSON pointer into the definition (`/rule/values/1/when`). */
export interface DefinitionChange {
  field: DefinitionField
  path: string
  from?: unknown
  to?: unknown
  text: string
}

/** The definition part of a label-shaped object (extra fields such as id or order are dropped). */
export function definitionOf(l: LabelDefinition): LabelDefinition {
  return {
    name: l.name,
    displayName: l.displayName,
    groupId: l.groupId,
    dataType: l.dataType,
    labelType: l.labelType,
    schedule: l.schedule,
    enabled: l.enabled,
    description: l.description,
    rule: l.rule,
  }
}

/** Key-order independent JSON equality (Yjs and jsonb may reorder object keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((x, i) => sameJson(x, b[i]))
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined)
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined)
  if (ka.length !== kb.length) return false
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}

/** True when any versioned field differs (a move alone is not a new version). */
export function isNewVersion(before: LabelDefinition, after: LabelDefinition): boolean {
  return versionedFields.some((f) => !sameJson(before[f], after[f]))
}

export interface DiffOptions {
  /** Shows a group id as its name (the server passes the workspace's group names). */
  groupName?: (id: string) => string
}

const fieldWords: Record<Exclude<DefinitionField, 'rule'>, string> = {
  name: 'name',
  displayName: 'display name',
  groupId: 'group',
  dataType: 'data type',
  labelType: 'label type',
  schedule: 'schedule',
  enabled: 'status',
  description: 'description',
}

const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

function fieldValueWords(f: Exclude<DefinitionField, 'rule'>, v: unknown, opts: DiffOptions): string {
  switch (f) {
    case 'schedule':
      return scheduleWords(v as Schedule)
    case 'enabled':
      return v ? 'enabled' : 'disabled'
    case 'groupId':
      return `"${opts.groupName ? opts.groupName(String(v)) : String(v)}"`
    case 'description':
      return v === '' ? 'empty' : JSON.stringify(clip(String(v)))
    case 'dataType':
    case 'labelType':
      return String(v)
    default:
      return JSON.stringify(v)
  }
}

/**
 * The changes from `before` to `after`, field by field in the order of docs/model.md#label-fields, the rule path by path.
 * `before` null (a new label): every field as "set to".
 */
export function diffDefinitions(
  before: LabelDefinition | null,
  after: LabelDefinition,
  opts: DiffOptions = {},
): DefinitionChange[] {
  const out: DefinitionChange[] = []
  for (const f of definitionFields) {
    if (f === 'rule') {
      if (!before)
        out.push({
          field: 'rule',
          path: '/rule',
          to: after.rule,
          text: `rule set to ${methodWords[after.rule.method]}: ${ruleWords(after.rule)}`,
        })
      else out.push(...diffRules(before.rule, after.rule))
      continue
    }
    if (!before) {
      out.push({
        field: f,
        path: `/${f}`,
        to: after[f],
        text: `${fieldWords[f]} set to ${fieldValueWords(f, after[f], opts)}`,
      })
    } else if (!sameJson(before[f], after[f])) {
      out.push({
        field: f,
        path: `/${f}`,
        from: before[f],
        to: after[f],
        text: `${fieldWords[f]} changed from ${fieldValueWords(f, before[f], opts)} to ${fieldValueWords(f, after[f], opts)}`,
      })
    }
  }
  return out
}

/** A pairing of two lists: equal items matched (longest common subsequence), the rest paired in order or added/removed. */
type Pair = { a: number; b: number } | { a: number; b?: undefined } | { a?: undefined; b: number }

function align<T>(xs: T[], ys: T[], similar: (x: T, y: T) => boolean = () => false): Pair[] {
  const n = xs.length,
    m = ys.length
  const L = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i]![j] = sameJson(xs[i], ys[j]) ? L[i + 1]![j + 1]! + 1 : Math.max(L[i + 1]![j]!, L[i]![j + 1]!)
  const out: Pair[] = []
  let i = 0,
    j = 0
  let gapA: number[] = [],
    gapB: number[] = []
  // Within a gap, an item is paired with the next similar one (same layer value, same
  // events/attributes), else with the one at the same place when both sides are as long.
  const flush = () => {
    const match = new Map<number, number>()
    let from = 0
    for (const a of gapA) {
      const k = gapB.findIndex((b, t) => t >= from && similar(xs[a]!, ys[b]!))
      if (k >= 0) match.set(a, gapB[k]!), (from = k + 1)
    }
    const used = new Set(match.values())
    const leftA = gapA.filter((a) => !match.has(a)),
      restB = gapB.filter((b) => !used.has(b))
    if (leftA.length === restB.length) leftA.forEach((a, t) => match.set(a, restB[t]!))
    const paired = new Set(match.values()),
      done = new Set<number>()
    for (const a of gapA) {
      const b = match.get(a)
      if (b === undefined) {
        out.push({ a })
        continue
      }
      for (const x of gapB) if (x < b && !paired.has(x) && !done.has(x)) out.push({ b: x }), done.add(x)
      out.push({ a, b })
    }
    for (const x of gapB) if (!paired.has(x) && !done.has(x)) out.push({ b: x })
    gapA = []
    gapB = []
  }
  while (i < n && j < m) {
    if (sameJson(xs[i], ys[j])) {
      flush()
      i++, j++
    } else if (L[i + 1]![j]! >= L[i]![j + 1]!) gapA.push(i++)
    else gapB.push(j++)
  }
  while (i < n) gapA.push(i++)
  while (j < m) gapB.push(j++)
  flush()
  return out
}

/** Collects rule changes; `ctx` prefixes the text ("Layer 2 'VIP': condition 1 "). */
class RuleDiff {
  readonly out: DefinitionChange[] = []

  add(path: string, text: string, from: unknown, to: unknown): void {
    const c: DefinitionChange = { field: 'rule', path, text }
    if (from !== undefined) c.from = from
    if (to !== undefined) c.to = to
    this.out.push(c)
  }

  changed(path: string, ctx: string, what: string, from: unknown, to: unknown, words: (v: never) => string): void {
    if (sameJson(from, to)) return
    this.add(path, `${ctx}${what} changed from ${words(from as never)} to ${words(to as never)}`, from, to)
  }

  scope(path: string, ctx: string, a: { event: string; where?: Filter[]; window?: Window }, b: typeof a): void {
    this.changed(`${path}/event`, ctx, 'event', a.event, b.event, String)
    this.filters(`${path}/where`, ctx, a.where ?? [], b.where ?? [])
    this.changed(`${path}/window`, ctx, 'window', a.window, b.window, windowWords)
  }

  filters(path: string, ctx: string, a: Filter[], b: Filter[]): void {
    for (const p of align(a, b, similarFilter)) {
      if (p.a !== undefined && p.b !== undefined) {
        if (!sameJson(a[p.a], b[p.b]))
          this.add(
            `${path}/${p.b}`,
            `${ctx}filter ${p.b + 1} changed from ${filterWords(a[p.a]!)} to ${filterWords(b[p.b]!)}`,
            a[p.a],
            b[p.b],
          )
      } else if (p.b !== undefined)
        this.add(`${path}/${p.b}`, `${ctx}filter added: ${filterWords(b[p.b]!)}`, undefined, b[p.b])
      else this.add(`${path}/${p.a}`, `${ctx}filter removed: ${filterWords(a[p.a]!)}`, a[p.a], undefined)
    }
  }

  measure(path: string, ctx: string, what: string, a: Measure | undefined, b: Measure | undefined): void {
    this.changed(path, ctx, what, a, b, measureWords)
  }

  condition(path: string, label: string, a: Condition, b: Condition): void {
    if (sameJson(a, b)) return
    const ka = kindOf(a),
      kb = kindOf(b)
    const ctx = `${label} `
    if ((ka === 'all' || ka === 'any') && (kb === 'all' || kb === 'any')) {
      const xs = (a as unknown as Record<string, Condition[]>)[ka]!,
        ys = (b as unknown as Record<string, Condition[]>)[kb]!
      if (ka !== kb)
        this.add(
          path,
          `${label} now needs ${kb === 'all' ? 'all' : 'any'} of its conditions instead of ${ka === 'all' ? 'all' : 'any'}`,
          ka,
          kb,
        )
      const child = (i: number) =>
        label.endsWith('conditions') ? `${label.slice(0, -1)} ${i + 1}` : `${label}.${i + 1}`
      for (const p of align(xs, ys, similarCondition)) {
        if (p.a !== undefined && p.b !== undefined)
          this.condition(`${path}/${kb}/${p.b}`, child(p.b), xs[p.a]!, ys[p.b]!)
        else if (p.b !== undefined)
          this.add(`${path}/${kb}/${p.b}`, `${child(p.b)} added: ${conditionWords(ys[p.b]!)}`, undefined, ys[p.b])
        else
          this.add(`${path}/${ka}/${p.a}`, `${child(p.a!)} removed: ${conditionWords(xs[p.a!]!)}`, xs[p.a!], undefined)
      }
      return
    }
    if (ka === 'not' && kb === 'not')
      return this.condition(
        `${path}/not`,
        `${label} (negated)`,
        (a as { not: Condition }).not,
        (b as { not: Condition }).not,
      )
    if (ka === 'behaviour' && kb === 'behaviour') {
      const x = a as Extract<Condition, { event: string }>,
        y = b as typeof x
      this.scope(path, ctx, x, y)
      this.measure(`${path}/measure`, ctx, 'measure', x.measure, y.measure)
      if (x.op !== y.op || !sameJson(x.value, y.value))
        this.add(
          path,
          `${ctx}comparison changed from ${comparisonWords(x.op, x.value)} to ${comparisonWords(y.op, y.value)}`,
          { op: x.op, value: x.value },
          { op: y.op, value: y.value },
        )
      return
    }
    this.add(path, `${label} changed from ${conditionWords(a)} to ${conditionWords(b)}`, a, b)
  }

  custom(a: CustomRule, b: CustomRule): void {
    const name = (l: CustomRule['values'][number], i: number) => `Layer ${i + 1} ${layerValue(l.value)}`
    for (const p of align(a.values, b.values, similarLayer)) {
      if (p.a !== undefined && p.b !== undefined) {
        const x = a.values[p.a]!,
          y = b.values[p.b]!
        if (sameJson(x, y)) continue
        const path = `/rule/values/${p.b}`
        if (!sameJson(x.value, y.value))
          this.add(
            `${path}/value`,
            `Layer ${p.b + 1}: value changed from ${layerValue(x.value)} to ${layerValue(y.value)}`,
            x.value,
            y.value,
          )
        const root = kindOf(y.when) === 'all' || kindOf(y.when) === 'any' ? 'conditions' : 'condition'
        this.condition(`${path}/when`, `${name(y, p.b)}: ${root}`, x.when, y.when)
      } else if (p.b !== undefined) {
        const y = b.values[p.b]!
        this.add(`/rule/values/${p.b}`, `${name(y, p.b)} added: when ${conditionWords(y.when)}`, undefined, y)
      } else {
        const x = a.values[p.a!]!
        this.add(`/rule/values/${p.a}`, `${name(x, p.a!)} removed (was: when ${conditionWords(x.when)})`, x, undefined)
      }
    }
    this.changed('/rule/otherwise', '', 'otherwise', a.otherwise, b.otherwise, valueWords)
  }
}

/** The events and attributes a condition mentions, for pairing edited items. */
function mentions(c: Condition, into = new Set<string>()): Set<string> {
  if ('all' in c) c.all.forEach((x) => mentions(x, into))
  else if ('any' in c) c.any.forEach((x) => mentions(x, into))
  else if ('not' in c) mentions(c.not, into)
  else into.add('attribute' in c ? `a:${c.attribute}` : `e:${c.event}`)
  return into
}

const sameMentions = (x: Condition, y: Condition) => sameJson([...mentions(x)].sort(), [...mentions(y)].sort())
const similarCondition = (x: Condition, y: Condition) => kindOf(x) === kindOf(y) && sameMentions(x, y)
const similarLayer = (x: CustomRule['values'][number], y: CustomRule['values'][number]) =>
  sameJson(x.value, y.value) || sameMentions(x.when, y.when)
const similarFilter = (x: Filter, y: Filter) => x.property === y.property

const layerValue = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : valueWords(v))

function kindOf(c: Condition): 'all' | 'any' | 'not' | 'attribute' | 'behaviour' {
  if ('all' in c) return 'all'
  if ('any' in c) return 'any'
  if ('not' in c) return 'not'
  return 'attribute' in c ? 'attribute' : 'behaviour'
}

/** The differences between two rules, path by path, in words. */
export function diffRules(a: Rule, b: Rule): DefinitionChange[] {
  const d = new RuleDiff()
  if (sameJson(a, b)) return d.out
  if (a.method !== b.method) {
    d.add('/rule', `method changed from ${methodWords[a.method]} to ${methodWords[b.method]}: ${ruleWords(b)}`, a, b)
    return d.out
  }
  switch (a.method) {
    case 'custom':
      d.custom(a, b as CustomRule)
      break
    case 'metric': {
      const y = b as typeof a
      d.scope('/rule', '', a, y)
      d.measure('/rule/measure', '', 'measure', a.measure, y.measure)
      break
    }
    case 'first_last': {
      const y = b as typeof a
      d.changed('/rule/which', '', 'which event', a.which, y.which, String)
      d.scope('/rule', '', a, y)
      d.changed('/rule/property', '', 'property', a.property, y.property, (p: string) => (p === '$time' ? 'time' : p))
      break
    }
    case 'preference': {
      const y = b as typeof a
      d.scope('/rule', '', a, y)
      d.changed('/rule/property', '', 'property', a.property, y.property, String)
      d.measure('/rule/by', '', 'ranking measure', a.by, y.by)
      d.changed('/rule/top', '', 'top', a.top ?? 1, y.top ?? 1, String)
      break
    }
    case 'distribution': {
      const y = b as typeof a
      d.scope('/rule', '', a, y)
      d.measure('/rule/measure', '', 'measure', a.measure, y.measure)
      d.changed('/rule/boundaries', '', 'boundaries', a.boundaries, y.boundaries, (v: number[]) => `[${v.join(',')}]`)
      d.changed('/rule/names', '', 'interval names', a.names, y.names, (v: string[] | undefined) =>
        v ? v.join(', ') : 'the intervals as written',
      )
      break
    }
    case 'import':
      break
  }
  return d.out
}
