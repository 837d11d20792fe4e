import type { DataSchema } from '../../api/types.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule, RuleMethod } from '../../../shared/schemas/rule.ts'

/** The type of an event's property in the data schema (`$time` is the event's time), if known. */
function propertyType(schema: DataSchema | undefined, event: string, property: string): DataType | undefined {
  if (property === '$time') return 'date'
  const t = schema?.events.find((e) => e.name === event)?.properties.find((p) => p.name === property)?.type
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'date' ? t : undefined
}

/**
 * The data type each method produces (custom and import: whatever the operator picks). First/last
 * gives the property's own type; a top-1 preference its type too, or string for a non-date
 * property (as the engine accepts, engine/compiler/resolve-rule.ts).
 */
export function dataTypeFor(rule: Rule, current: DataType, schema?: DataSchema): DataType {
  switch (rule.method) {
    case 'metric':
      return 'number'
    case 'distribution':
      return 'string'
    case 'preference': {
      if ((rule.top ?? 1) > 1) return 'collection'
      const t = propertyType(schema, rule.event, rule.property)
      if (!t) return current === 'collection' ? 'string' : current
      return current === t || (current === 'string' && t !== 'date') ? current : t
    }
    case 'first_last':
      return propertyType(schema, rule.event, rule.property) ?? current
    case 'custom':
    case 'import':
      return current
  }
}

/** A sensible starting rule for a method over the workspace's data schema. */
export function defaultRule(method: RuleMethod, schema: DataSchema | undefined): Rule {
  const ev = schema?.events[0]
  const event = ev?.name ?? 'purchase'
  const numeric = ev?.properties.find((p) => p.type === 'number')?.name
  const text = ev?.properties.find((p) => p.type === 'string')?.name ?? '$time'
  switch (method) {
    case 'custom':
      return {
        method,
        values: [{ value: 'active', when: { event, window: { lastDays: 30 }, op: 'gte', value: 1 } }],
        otherwise: 'inactive',
      }
    case 'metric':
      return { method, event, window: { lastDays: 30 }, measure: { agg: 'count' } }
    case 'first_last':
      return { method, which: 'last', event, property: '$time' }
    case 'preference':
      return {
        method,
        event,
        window: { lastDays: 90 },
        property: text === '$time' ? (ev?.properties[0]?.name ?? 'category') : text,
      }
    case 'distribution':
      return {
        method,
        event,
        window: { lastDays: 90 },
        measure: numeric ? { agg: 'sum', property: numeric } : { agg: 'count' },
        boundaries: [1, 5, 10],
      }
    case 'import':
      return { method }
  }
}
