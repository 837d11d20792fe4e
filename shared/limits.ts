/**
 * The limits of a rule (docs/rules.md#limits), in one place: the rule schema (shared/schemas/rule.ts), the
 * compiler (engine/compiler) and the rule editor read them from here, so they can't disagree.
 * They keep a rule's SQL bounded: a pasted or generated rule can't make the database plan a
 * query with thousands of joins or an unbounded parameter list.
 */
export const ruleLimits = {
  /** Layers of a custom rule (docs/rules.md#custom). */
  layers: 50,
  /** Nesting of all/any/not; a layer's top-level condition is depth 1. */
  conditionDepth: 10,
  /** Conditions (leaves and all/any/not nodes) in one rule. */
  conditions: 500,
  /** Children of one all/any node. */
  conditionChildren: 50,
  /** Filters in one `where`. */
  filters: 50,
  /** Values of an in / not_in list. */
  listValues: 1000,
  /** Elements of a collection value in a custom rule. */
  collectionValues: 1000,
  /** `top` of a preference rule (1–50). */
  top: 50,
  /** Intervals of a distribution rule: at most 49 boundaries, so at most 50 names. */
  intervals: 50,
  /** Characters of an event, property or attribute name in a rule. */
  nameLength: 128,
  /** Characters of one interval name of a distribution rule. */
  intervalNameLength: 100,
  /** `lastDays` of a window (100 years). */
  lastDays: 36500,
} as const

/**
 * When a label's run computes the changed customers only (engine/calc/incremental.ts), in one
 * place: the engine applies them, the run's `fullRunReason` words (shared/schemas/wire.ts, the
 * label detail) quote them.
 */
export const incrementalLimits = {
  /** Days a label's results hold the change log (engine/storage/changes.ts CHANGES_KEPT_DAYS). */
  changesKeptDays: 8,
  /** Share of all customers above which a run computes everyone (INCREMENTAL_MAX_SHARE). */
  maxShare: 0.3,
} as const

/** Characters of a user_id or event_id (ingestion refuses longer ones; routes taking a user_id accept them all). */
export const idMaxLength = 512
