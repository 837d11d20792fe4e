import { opWord, whereWords, windowWords } from '../../shared/rule-words.ts'
import type { Filter, Window } from '../../shared/schemas/rule.ts'
import type { ExplainCondition, ExplainEvents, Explanation } from './explain-types.ts'

/**
 * The words of an explanation (engine/read/explain-types.ts). Pure: the engine fills each
 * line's `text` with the plain formats below, and the web app calls the same functions with
 * the browser's number and date formats, so both read the same.
 */

export interface ExplainFormats {
  number: (n: number) => string
  /** An ISO instant. */
  time: (iso: string) => string
}

/** Plain formats: numbers as JavaScript writes them, times as ISO instants. */
export const plainFormats: ExplainFormats = { number: (n) => String(n), time: (t) => t }

export const mark = (ok: boolean) => (ok ? '✓' : '✗')

const isIsoInstant = (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s)

/** A value as an operator reads it: strings quoted, numbers and times formatted, null as "no value". */
export function valueText(v: unknown, f: ExplainFormats = plainFormats): string {
  if (v === null || v === undefined) return 'no value'
  if (Array.isArray(v)) return `[${v.map((x) => valueText(x, f)).join(', ')}]`
  if (typeof v === 'number') return f.number(v)
  if (typeof v === 'string') return isIsoInstant(v) ? f.time(v) : JSON.stringify(v)
  if (typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** "purchase where amount ≥ 10 in the last 30 days" (a scope without window: "all time" before asOf). */
export function scopeWords(s: { event: string; where?: Filter[]; window?: Window }): string {
  return `${s.event}${whereWords(s.where)}${s.window ? ` in the ${windowWords(s.window)}` : ''}`
}

/** `≥ 3`, `between 1 and 5`, `in ["a", "b"]`, `is set`. */
function comparison(op: string, value: unknown, f: ExplainFormats): string {
  if (op === 'is_set' || op === 'is_not_set') return opWord(op)
  if (op === 'between' && Array.isArray(value)) return `between ${valueText(value[0], f)} and ${valueText(value[1], f)}`
  return `${opWord(op)} ${valueText(value, f)}`
}

/** One line of a condition, e.g. "count of purchase in the last 30 days = 4 ≥ 3 ✓". */
export function conditionText(c: ExplainCondition, f: ExplainFormats = plainFormats): string {
  switch (c.kind) {
    case 'behaviour':
      return `${c.measure} of ${c.events.scope} = ${valueText(c.measured, f)} ${comparison(c.op, c.value, f)} ${mark(c.result)}`
    case 'attribute': {
      const actual = c.actual === null ? 'not set' : valueText(c.actual, f)
      return `${c.attribute} is ${actual} — ${comparison(c.op, c.value, f)} ${mark(c.result)}`
    }
    case 'all':
    case 'any': {
      const held = c.items.filter((x) => x.result).length
      return `${c.kind} of ${c.items.length}: ${held} hold${held === 1 ? 's' : ''} ${mark(c.result)}`
    }
    case 'not':
      return `not: the condition below ${c.item.result ? 'holds' : 'does not hold'} ${mark(c.result)}`
  }
}

/** "4 events, 2024-02-20 … 2024-03-14" / "no events". */
export function eventsText(e: ExplainEvents, f: ExplainFormats = plainFormats): string {
  if (e.count === 0) return `no ${e.event} events in this scope`
  const n = `${f.number(e.count)} ${e.event} event${e.count === 1 ? '' : 's'}`
  if (!e.first || !e.last) return n
  return e.first === e.last ? `${n}, at ${f.time(e.first)}` : `${n}, from ${f.time(e.first)} to ${f.time(e.last)}`
}

/** The value and its main reason in one line. */
export function summaryText(x: Explanation, f: ExplainFormats = plainFormats): string {
  const v = valueText(x.computed, f)
  const r = x.reason
  switch (r.method) {
    case 'custom': {
      if (r.matchedLayer !== null) return `Layer ${r.matchedLayer + 1} matched: ${v}`
      if (r.otherwise !== null) return `No layer matched: otherwise ${v}`
      return 'No layer matched and the rule has no otherwise: no value'
    }
    case 'metric':
      return `${r.measure} of ${r.events.scope} = ${v} (${eventsText(r.events, f)})`
    case 'distribution':
      return r.measured === null
        ? `${r.measure} of ${r.events.scope} has no value (${eventsText(r.events, f)}): no value`
        : `${r.measure} of ${r.events.scope} = ${valueText(r.measured, f)}, in ${v}`
    case 'first_last':
      return r.picked
        ? `${r.which === 'last' ? 'Last' : 'First'} ${r.property === '$time' ? 'time' : r.property} of ${r.events.scope}: ${v} (event at ${f.time(r.picked.time)})`
        : `No ${r.events.scope}${r.property === '$time' ? '' : ` with ${r.property} set`}: no value`
    case 'preference':
      return r.ranking.length === 0
        ? `No ${r.events.scope} with ${r.property} set: no value`
        : `Top ${r.top} ${r.property} of ${r.events.scope} by ${r.by}: ${v}`
    case 'import':
      return x.stored === null ? 'No imported value for this customer' : `Imported value ${valueText(x.stored, f)}`
  }
}

/** Notes an operator should read before the reason: no run, stale results, an edited rule. */
export function notesText(x: Explanation, f: ExplainFormats = plainFormats): string[] {
  const notes: string[] = []
  if (!x.run)
    notes.push(
      'The label has no successful run yet: nothing is stored, and this is what its rule gives now for this customer.',
    )
  if (x.run && !x.agrees)
    notes.push(
      `The stored value (${valueText(x.stored, f)}) is older than this customer's data: the run's rule gives ${valueText(x.computed, f)} on the data as it is now (events or attributes were ingested after the run). Recalculate to update it.`,
    )
  for (const n of x.newerEvents)
    if (n.count > 0)
      notes.push(
        `${f.number(n.count)} ${n.event} event${n.count === 1 ? '' : 's'} of this customer at or after the run's time (${f.time(x.asOf)}${n.last ? `, latest ${f.time(n.last)}` : ''}) ${n.count === 1 ? 'is' : 'are'} not counted: the ${x.run ? 'stored run' : 'calculation'} is older than the data.`,
      )
  if (x.definitionChanged)
    notes.push(
      "The label's rule was edited after this run: this explains the rule the run used; the next run uses the new one.",
    )
  return notes
}
