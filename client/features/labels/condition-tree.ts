import { ruleLimits } from '../../../shared/limits.ts'
import type { Condition } from '../../../shared/schemas/rule.ts'
import type { DataSchema } from '../../api/types.ts'

/**
 * The visual and/or/not builder's operations on a condition tree (docs/rules.md#conditions), pure:
 * what kind a node is, switching a node's kind (keeping what it holds where it can), adding,
 * removing and negating nodes within the rule's limits (shared/limits.ts).
 */

export type ConditionKind = 'event' | 'attribute' | 'all' | 'any' | 'not'

export function kindOf(c: Condition): ConditionKind {
  if ('all' in c) return 'all'
  if ('any' in c) return 'any'
  if ('not' in c) return 'not'
  if ('attribute' in c) return 'attribute'
  return 'event'
}

/** A new behaviour condition: did the first event of the schema at least once. */
export const newBehaviour = (schema: DataSchema | undefined): Condition => ({
  event: schema?.events[0]?.name ?? 'purchase',
  op: 'gte',
  value: 1,
})

/** A new attribute condition on the schema's first user attribute. */
export const newAttribute = (schema: DataSchema | undefined): Condition => ({
  attribute: schema?.userAttributes[0]?.name ?? 'city',
  op: 'is_set',
})

/** The children of an all/any node ([] for any other). */
export const childrenOf = (c: Condition): Condition[] => ('all' in c ? c.all : 'any' in c ? c.any : [])

/**
 * `c` as a node of `kind`: a leaf becomes the one child of a new all/any/not; all ↔ any keeps
 * the children; a group becomes its first child's kind when it turns into a leaf of that kind,
 * otherwise a fresh leaf.
 */
export function switchKind(c: Condition, kind: ConditionKind, schema: DataSchema | undefined): Condition {
  const from = kindOf(c)
  if (from === kind) return c
  const kids = from === 'not' ? [(c as { not: Condition }).not] : childrenOf(c)
  const leaf = from === 'event' || from === 'attribute' ? c : null
  switch (kind) {
    case 'all':
      return { all: leaf ? [leaf] : kids.length ? kids : [newBehaviour(schema)] }
    case 'any':
      return { any: leaf ? [leaf] : kids.length ? kids : [newBehaviour(schema)] }
    case 'not':
      return { not: leaf ?? (kids.length === 1 ? kids[0]! : kids.length ? { all: kids } : newBehaviour(schema)) }
    case 'event':
    case 'attribute': {
      const same = kids.find((k) => kindOf(k) === kind)
      return same ?? (kind === 'event' ? newBehaviour(schema) : newAttribute(schema))
    }
  }
}

/** `c` with its children replaced (an all/any node), or `c` itself. */
export function withChildren(c: Condition, children: Condition[]): Condition {
  if ('all' in c) return { all: children }
  if ('any' in c) return { any: children }
  return c
}

/** Adds `child` to an all/any node, unless it is full (ruleLimits.conditionChildren). */
export function addChild(c: Condition, child: Condition): Condition {
  const kids = childrenOf(c)
  return kids.length >= ruleLimits.conditionChildren ? c : withChildren(c, [...kids, child])
}

/** Removes child `i` of an all/any node; the last child stays (a group needs one). */
export function removeChild(c: Condition, i: number): Condition {
  const kids = childrenOf(c)
  return kids.length < 2
    ? c
    : withChildren(
        c,
        kids.filter((_, j) => j !== i),
      )
}

/** Negates a node: `not X` becomes X again, anything else is wrapped in `not`. */
export const negate = (c: Condition): Condition => ('not' in c ? c.not : { not: c })

/** How deep a tree nests (a leaf is 1), to stay within ruleLimits.conditionDepth. */
export function depthOf(c: Condition): number {
  if ('not' in c) return 1 + depthOf(c.not)
  const kids = childrenOf(c)
  return kids.length ? 1 + Math.max(...kids.map(depthOf)) : 1
}

/** Can a node at `depth` (1 = a layer's condition) get one more level below it? */
export const canNest = (depth: number): boolean => depth < ruleLimits.conditionDepth

/**
 * Reads what was typed in a condition's JSON box: the condition, or the reason it is not one
 * (not JSON, or not an object with exactly one of event/attribute/all/any/not).
 */
export function parseConditionJson(text: string): { ok: true; value: Condition } | { ok: false; error: string } {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (e) {
    return { ok: false, error: `not valid JSON: ${(e as Error).message}` }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    return {
      ok: false,
      error: 'a condition is an object: {"event":…}, {"attribute":…}, {"all":[…]}, {"any":[…]} or {"not":…}',
    }
  const keys = ['event', 'attribute', 'all', 'any', 'not'].filter((k) => k in v)
  if (keys.length !== 1)
    return {
      ok: false,
      error: keys.length
        ? `a condition has one of event, attribute, all, any or not; this one has ${keys.join(' and ')}`
        : 'a condition has one of event, attribute, all, any or not',
    }
  const o = v as Record<string, unknown>
  if ((keys[0] === 'all' || keys[0] === 'any') && !Array.isArray(o[keys[0]]))
    return { ok: false, error: `"${keys[0]}" takes a list of conditions` }
  return { ok: true, value: v as Condition }
}
