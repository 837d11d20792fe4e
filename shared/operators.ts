/**
 * The operators of the rule JSON (docs/rules.md#filters), in one place: the rule schema, the compiler, the
 * version diffs' wording and the rule editor read them from here.
 */

/** Operators of a filter (`where`) or an attribute condition. */
export const filterOps = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'not_in',
  'contains',
  'between',
  'is_set',
  'is_not_set',
] as const
export type FilterOp = (typeof filterOps)[number]

/** Operators of a behaviour condition (its measure against a number). */
export const compareOps = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq', 'between'] as const
export type CompareOp = (typeof compareOps)[number]

/** Operators that take no value. */
export const valuelessOps: readonly FilterOp[] = ['is_set', 'is_not_set']

/** Operators that take a list of values (`between` takes exactly two). */
export const listOps: readonly FilterOp[] = ['in', 'not_in', 'between']

/** The type of a property or attribute, as the data schema names it. */
export type PropertyType = 'string' | 'number' | 'boolean' | 'date'

const anyType: readonly PropertyType[] = ['string', 'number', 'boolean', 'date']
const ordered: readonly PropertyType[] = ['string', 'number', 'date']

/** Which property types each filter operator applies to: ordering needs an order, contains a string. */
export const opTypes: Readonly<Record<FilterOp, readonly PropertyType[]>> = {
  eq: anyType,
  neq: anyType,
  in: anyType,
  not_in: anyType,
  is_set: anyType,
  is_not_set: anyType,
  gt: ordered,
  gte: ordered,
  lt: ordered,
  lte: ordered,
  between: ordered,
  contains: ['string'],
}

/** Each operator as an operator reads it (`gte` → `≥`): the editor's choices and the diffs' words. */
export const opWords: Readonly<Record<FilterOp, string>> = {
  eq: '=',
  neq: '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  in: 'in',
  not_in: 'not in',
  contains: 'contains',
  between: 'between',
  is_set: 'is set',
  is_not_set: 'is not set',
}

/** Whether `op` is an operator of the rule JSON (a Set: `toString` or `__proto__` is none). */
const known = new Set<string>(filterOps)
export const isFilterOp = (op: unknown): op is FilterOp => typeof op === 'string' && known.has(op)
