import type { DataType } from '../../shared/schemas/label.ts'
import type { RuleMethod } from '../../shared/schemas/rule.ts'

/**
 * The explanation of one customer's value (GET /api/labels/:label/explain/:userId,
 * docs/api.md#explain-a-customers-value). Structured-clonable; every line also carries its
 * text in operator words (engine/read/explain-words.ts), which the web app re-renders with the
 * browser's number and date formats.
 */

/** A label value as the API gives it (dates as ISO instants); null: no value (not covered). */
export type ExplainValue = string | number | boolean | string[] | null

/** A property or attribute value (dates as ISO instants); null: not set. */
export type ExplainScalar = string | number | boolean | null

/** The customer's events a measure reads: its event, filters and window as of the explanation's asOf. */
export interface ExplainEvents {
  event: string
  /** The scope in words: "purchase where amount ≥ 10 in the last 30 days". */
  scope: string
  /** The window as instants: from (null: all time), to (exclusive: the asOf, or a `{from,to}` window's end when earlier). */
  from: string | null
  to: string
  /** Matching events of the customer. */
  count: number
  /** Time of the earliest and the latest matching event (null without events). */
  first: string | null
  last: string | null
  /** The latest matching events (up to 5), newest first. */
  recent: Array<{ time: string; eventId: string | null }>
}

/** A property's most frequent values among the matching events (up to 10) and how many distinct values there are. */
export interface ExplainTopValues {
  property: string
  values: Array<{ value: ExplainScalar; events: number }>
  distinct: number
}

export type ExplainCondition =
  | {
      kind: 'attribute'
      /** JSON path of the condition in the rule, e.g. /rule/values/0/when/all/1. */
      path: string
      attribute: string
      op: string
      value?: unknown
      /** The customer's attribute value. */
      actual: ExplainScalar
      result: boolean
      text: string
    }
  | {
      kind: 'behaviour'
      path: string
      event: string
      /** The measure in words: "count", "sum(amount)". */
      measure: string
      op: string
      value: number | [number, number]
      /** The customer's measured value as the rule compares it (additive measures 0 without events; null: no value). */
      measured: number | null
      result: boolean
      text: string
      events: ExplainEvents
    }
  | { kind: 'all' | 'any'; path: string; result: boolean; text: string; items: ExplainCondition[] }
  | { kind: 'not'; path: string; result: boolean; text: string; item: ExplainCondition }

export type ExplainReason =
  | {
      method: 'custom'
      /** Every layer in order with its condition; the first whose condition holds gives the value. */
      layers: Array<{ index: number; value: ExplainValue; matched: boolean; condition: ExplainCondition }>
      /** Index of the layer that gave the value, null when none matched. */
      matchedLayer: number | null
      otherwise: ExplainValue
    }
  | {
      method: 'metric'
      measure: string
      measured: number | null
      events: ExplainEvents
      top: ExplainTopValues | null
    }
  | {
      method: 'distribution'
      measure: string
      measured: number | null
      /** The interval the measure falls in, with its bounds (null: open-ended). */
      bucket: { name: string; from: number | null; to: number | null } | null
      boundaries: number[]
      names: string[]
      events: ExplainEvents
      top: ExplainTopValues | null
    }
  | {
      method: 'first_last'
      which: 'first' | 'last'
      property: string
      /** The event that gave the value (null: no matching event with the property set). */
      picked: { time: string; value: ExplainScalar; eventId: string | null } | null
      events: ExplainEvents
      top: ExplainTopValues | null
    }
  | {
      method: 'preference'
      property: string
      /** The ranking measure in words. */
      by: string
      top: number
      /** Values ranked as the rule ranks them (up to max(top, 10)); the first `top` make the value. */
      ranking: Array<{ value: ExplainScalar; measure: number | null; events: number; rank: number; chosen: boolean }>
      events: ExplainEvents
    }
  | {
      method: 'import'
      /** The run whose results hold the value (an import, or a recalculation that kept them). */
      source: { runId: string; trigger: string; at: string | null } | null
      /** The label's latest successful imports, newest first (a merge keeps values of earlier ones). */
      imports: Array<{ runId: string; at: string | null; coveredUsers: number | null }>
    }

export interface Explanation {
  labelId: string
  userId: string
  method: RuleMethod
  dataType: DataType
  /** The run whose results are stored (null: the label has no successful run yet). */
  run: { id: string; trigger: string; asOf: string; finishedAt: string | null } | null
  /** The instant the explanation is computed as of: the run's asOf, or now without a run. */
  asOf: string
  /** The customer's stored value (null: not covered, or no run). */
  stored: ExplainValue
  /** The value the run's statement gives for this customer on the data as it is now, as of `asOf`. */
  computed: ExplainValue
  /** stored equals computed (always, unless the customer's data changed after the run). */
  agrees: boolean
  /** The label's rule was edited after the run: the explanation follows the run's rule. */
  definitionChanged: boolean
  /** The customer's events at or after `asOf` in the events the rule reads: data the run could not count. */
  newerEvents: Array<{ event: string; count: number; last: string | null }>
  /** One line: the value and the main reason. */
  summary: string
  /** Notes an operator should read first (stale results, edited rule, no run). */
  notes: string[]
  reason: ExplainReason
}
