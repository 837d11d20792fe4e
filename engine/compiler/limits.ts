/**
 * Limits that keep a rule's SQL bounded: a pasted or generated rule can't make the
 * database plan a query with thousands of joins or an unbounded parameter list.
 */
export const limits = {
  /** Nesting of all/any/not; a layer's top-level condition is depth 1. */
  conditionDepth: 10,
  /** Conditions (leaves and all/any/not nodes) in one rule. */
  conditions: 500,
  /** Values of an in / not_in list. */
  listValues: 1000,
  /** Layers of a custom rule. */
  layers: 50,
  /** Elements of a collection value in a custom rule. */
  collectionValues: 1000,
} as const
