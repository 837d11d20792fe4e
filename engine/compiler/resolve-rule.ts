import { invalid } from '../../shared/errors.ts'
import { ruleLimits as limits } from '../../shared/limits.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import type { Catalogue, ValueType } from '../storage/catalogue.ts'
import type { RuleNode } from './ir.ts'
import { labelValue } from './literals.ts'
import { resolveCondition } from './resolve-condition.ts'
import { resolveMeasure, resolveProperty, resolveScope } from './resolve-scope.ts'

type Resolvers = {
  [M in Rule['method']]: (rule: Extract<Rule, { method: M }>, dataType: DataType, cat: Catalogue) => RuleNode
}

const dataTypeMismatch = (dataType: DataType, expected: string) =>
  invalid(`this rule produces ${expected} values but the label's data type is ${dataType}`, '/dataType')

/** Formats a boundary the way people write it: 10 not 10.0, 0.5 not .5. */
const fmt = (n: number) => (Object.is(n, -0) ? '0' : String(n))

/** Default interval names: (-∞,b0) [b0,b1) … [bn,+∞). */
export function intervalNames(boundaries: readonly number[]): string[] {
  const names = [`(-∞,${fmt(boundaries[0] as number)})`]
  for (let i = 0; i < boundaries.length; i++) {
    const next = boundaries[i + 1]
    names.push(`[${fmt(boundaries[i] as number)},${next === undefined ? '+∞' : fmt(next)})`)
  }
  return names
}

const resolvers: Resolvers = {
  custom(rule, dataType, cat) {
    if (rule.values.length > limits.layers)
      throw invalid(`a custom rule has at most ${limits.layers} layers`, '/rule/values')
    const budget = { used: 0 }
    const layers = rule.values.map((layer, i) => ({
      value: labelValue(layer.value, dataType, `/rule/values/${i}/value`),
      when: resolveCondition(cat, layer.when, `/rule/values/${i}/when`, 1, budget),
    }))
    const otherwise =
      rule.otherwise === undefined || rule.otherwise === null
        ? null
        : labelValue(rule.otherwise, dataType, '/rule/otherwise')
    return { method: 'custom', layers, otherwise, output: dataType }
  },
  metric(rule, dataType, cat) {
    const scope = resolveScope(cat, rule, '/rule')
    const measure = resolveMeasure(scope.event, rule.measure, '/rule/measure')
    if (dataType !== 'number') throw dataTypeMismatch(dataType, 'number')
    return { method: 'metric', scope, measure }
  },
  first_last(rule, dataType, cat) {
    const scope = resolveScope(cat, rule, '/rule')
    const property = rule.property === '$time' ? '$time' : resolveProperty(scope.event, rule.property, '/rule/property')
    const type: ValueType = property === '$time' ? 'date' : property.type
    if (dataType !== type) throw dataTypeMismatch(dataType, type)
    return { method: 'first_last', which: rule.which, scope, property }
  },
  preference(rule, dataType, cat) {
    const scope = resolveScope(cat, rule, '/rule')
    const property = resolveProperty(scope.event, rule.property, '/rule/property')
    const by = resolveMeasure(scope.event, rule.by, '/rule/by')
    const top = rule.top ?? 1
    if (top > 1 && dataType !== 'collection') throw dataTypeMismatch(dataType, `collection (top ${top})`)
    // top 1 gives the value itself: the property's type, or its text for a string label.
    const textOk = dataType === 'string' && property.type !== 'date'
    if (top === 1 && dataType !== property.type && !textOk) throw dataTypeMismatch(dataType, `${property.type} (top 1)`)
    return { method: 'preference', scope, property, by, top, output: dataType }
  },
  distribution(rule, dataType, cat) {
    const scope = resolveScope(cat, rule, '/rule')
    const measure = resolveMeasure(scope.event, rule.measure, '/rule/measure')
    rule.boundaries.forEach((b, i) => {
      const prev = rule.boundaries[i - 1]
      if (prev !== undefined && !(b > prev))
        throw invalid(`boundaries must increase strictly: ${b} after ${prev}`, `/rule/boundaries/${i}`)
    })
    const want = rule.boundaries.length + 1
    if (rule.names !== undefined && rule.names.length !== want) {
      throw invalid(
        `${rule.boundaries.length} boundaries make ${want} intervals, so names needs ${want} entries, got ${rule.names.length}`,
        '/rule/names',
      )
    }
    if (dataType !== 'string') throw dataTypeMismatch(dataType, 'string')
    return {
      method: 'distribution',
      scope,
      measure,
      boundaries: rule.boundaries,
      names: rule.names ?? intervalNames(rule.boundaries),
    }
  },
  import() {
    return { method: 'import' }
  },
}

/** Validates a schema-checked rule against the catalogue and data type, returning the resolved tree. */
export function resolveRule(rule: Rule, dataType: DataType, cat: Catalogue): RuleNode {
  const resolve = resolvers[rule.method] as (r: Rule, d: DataType, c: Catalogue) => RuleNode
  return resolve(rule, dataType, cat)
}
