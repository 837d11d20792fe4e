import { invalid } from '../../shared/errors.ts'
import { ruleLimits as limits } from '../../shared/limits.ts'
import type { BehaviourCondition, Condition } from '../../shared/schemas/rule.ts'
import type { Catalogue } from '../storage/catalogue.ts'
import type { Comparison, CondNode } from './ir.ts'
import { resolveMeasure, resolvePredicate, resolveScope } from './resolve-scope.ts'

/** Counts conditions across a whole rule so the total limit spans all layers. */
export interface ConditionBudget {
  used: number
}

function resolveComparison(c: BehaviourCondition, base: string): Comparison {
  if (c.op === 'between') {
    if (!Array.isArray(c.value)) throw invalid('operator between takes [min, max]', `${base}/value`)
    return { op: 'between', lo: c.value[0], hi: c.value[1] }
  }
  if (typeof c.value !== 'number') throw invalid(`operator ${c.op} takes a single number`, `${base}/value`)
  return { op: c.op, value: c.value }
}

/** Resolves a condition tree against the catalogue; `path` is the condition's JSON path. */
export function resolveCondition(
  cat: Catalogue,
  c: Condition,
  path: string,
  depth: number,
  budget: ConditionBudget,
): CondNode {
  if (depth > limits.conditionDepth) throw invalid(`conditions nest at most ${limits.conditionDepth} levels deep`, path)
  if (++budget.used > limits.conditions) throw invalid(`a rule has at most ${limits.conditions} conditions`, path)
  if ('all' in c)
    return { kind: 'all', items: c.all.map((x, i) => resolveCondition(cat, x, `${path}/all/${i}`, depth + 1, budget)) }
  if ('any' in c)
    return { kind: 'any', items: c.any.map((x, i) => resolveCondition(cat, x, `${path}/any/${i}`, depth + 1, budget)) }
  if ('not' in c) return { kind: 'not', item: resolveCondition(cat, c.not, `${path}/not`, depth + 1, budget) }
  if ('attribute' in c) {
    const col = cat.users.get(c.attribute)
    if (!col) throw invalid(`unknown user attribute ${JSON.stringify(c.attribute)}`, `${path}/attribute`)
    return {
      kind: 'attribute',
      predicate: resolvePredicate(col, c.op, c.value, path, `attribute ${JSON.stringify(c.attribute)}`),
    }
  }
  const scope = resolveScope(cat, c, path)
  return {
    kind: 'behaviour',
    scope,
    measure: resolveMeasure(scope.event, c.measure, `${path}/measure`),
    compare: resolveComparison(c, path),
  }
}
