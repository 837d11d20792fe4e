import type { ColumnRef, EventInfo, ValueType } from '../storage/catalogue.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { FilterOp } from '../../shared/schemas/rule.ts'

/**
 * The resolved rule: the rule JSON after validation against the catalogue, with every
 * name replaced by its catalogue entry (table ev<N>, column c<N>) and every value checked
 * against its type. Nodes are tagged by `kind` / `op` / `agg` / `method` so each emitter
 * is a Record over the tag and the type checker finds a missing case.
 */

export type Scalar = string | number | boolean

/** A literal of a property/attribute type; dates stay ISO strings and are cast in SQL. */
export interface Literal {
  readonly type: ValueType
  readonly value: Scalar
}

export type Predicate =
  | {
      readonly op: 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains'
      readonly col: ColumnRef
      readonly value: Literal
    }
  | { readonly op: 'in' | 'not_in'; readonly col: ColumnRef; readonly values: readonly Literal[] }
  | { readonly op: 'between'; readonly col: ColumnRef; readonly lo: Literal; readonly hi: Literal }
  | { readonly op: 'is_set' | 'is_not_set'; readonly col: ColumnRef }

/** Compile-time check that Predicate covers every filter op of the schema. */
type _PredicateCoversOps = [FilterOp] extends [Predicate['op']] ? true : never
export const predicateCoversOps: _PredicateCoversOps = true

export type WindowNode =
  | { readonly kind: 'all' }
  | { readonly kind: 'last_days'; readonly days: number }
  | { readonly kind: 'range'; readonly from: string; readonly to: string }

/** The events a measure reads: one event table, its filters and its time window. */
export interface Scope {
  readonly event: EventInfo
  readonly where: readonly Predicate[]
  readonly window: WindowNode
}

export type MeasureNode =
  | { readonly agg: 'count' | 'days' }
  | { readonly agg: 'sum' | 'avg' | 'min' | 'max' | 'distinct'; readonly col: ColumnRef }

export type MeasureAgg = MeasureNode['agg']

/** count/days/distinct/sum are 0 without matching events; avg/min/max have no value (docs/rules.md#measures). */
export const additive: Record<MeasureAgg, boolean> = {
  count: true,
  days: true,
  distinct: true,
  sum: true,
  avg: false,
  min: false,
  max: false,
}

export type Comparison =
  | { readonly op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq'; readonly value: number }
  | { readonly op: 'between'; readonly lo: number; readonly hi: number }

export type CondNode =
  | { readonly kind: 'attribute'; readonly predicate: Predicate }
  | { readonly kind: 'behaviour'; readonly scope: Scope; readonly measure: MeasureNode; readonly compare: Comparison }
  | { readonly kind: 'all'; readonly items: readonly CondNode[] }
  | { readonly kind: 'any'; readonly items: readonly CondNode[] }
  | { readonly kind: 'not'; readonly item: CondNode }

/** A value of the label's data type (custom layers, otherwise). */
export type LabelValue =
  | { readonly type: Exclude<DataType, 'collection'>; readonly value: Scalar }
  | { readonly type: 'collection'; readonly value: readonly string[] }

export type RuleNode =
  | {
      readonly method: 'custom'
      readonly layers: ReadonlyArray<{ readonly value: LabelValue; readonly when: CondNode }>
      readonly otherwise: LabelValue | null
      readonly output: DataType
    }
  | { readonly method: 'metric'; readonly scope: Scope; readonly measure: MeasureNode }
  | {
      readonly method: 'first_last'
      readonly which: 'first' | 'last'
      readonly scope: Scope
      readonly property: ColumnRef | '$time'
    }
  | {
      readonly method: 'preference'
      readonly scope: Scope
      readonly property: ColumnRef
      readonly by: MeasureNode
      readonly top: number
      /** The label's data type: the property's type or string for top 1, collection for top > 1. */
      readonly output: DataType
    }
  | {
      readonly method: 'distribution'
      readonly scope: Scope
      readonly measure: MeasureNode
      readonly boundaries: readonly number[]
      readonly names: readonly string[]
    }
  | { readonly method: 'import' }
