import { Type, type Static } from 'typebox'
import { isoDayPattern } from '../formats.ts'
import { ruleLimits } from '../limits.ts'
import { compareOps, filterOps, type CompareOp, type FilterOp as FilterOpName } from '../operators.ts'

export type { CompareOp }

/**
 * Rule JSON (docs/rules.md). TypeBox gives one source for the runtime validator (with JSON paths,
 * used by the engine and by Fastify's route validation) and the static types.
 * Recursive conditions use Type.Cyclic so nesting depth is checked separately; every limit is in
 * shared/limits.ts and every operator in shared/operators.ts.
 */

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()])

export const Window = Type.Union([
  Type.Object(
    { lastDays: Type.Integer({ minimum: 1, maximum: ruleLimits.lastDays }) },
    { additionalProperties: false },
  ),
  Type.Object(
    { from: Type.String({ pattern: isoDayPattern }), to: Type.String({ pattern: isoDayPattern }) },
    { additionalProperties: false },
  ),
])
export type Window = Static<typeof Window>

// Built from the operator table (one list, shared/operators.ts); Unsafe keeps the precise static type the map loses.
export const FilterOp = Type.Unsafe<FilterOpName>(Type.Union(filterOps.map((o) => Type.Literal(o))))
export type FilterOp = FilterOpName

export const FilterValue = Type.Union([Scalar, Type.Array(Scalar, { maxItems: ruleLimits.listValues })])

export const Filter = Type.Object(
  {
    property: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
    op: FilterOp,
    value: Type.Optional(FilterValue),
  },
  { additionalProperties: false },
)
export type Filter = Static<typeof Filter>

export const Measure = Type.Union([
  Type.Object({ agg: Type.Union([Type.Literal('count'), Type.Literal('days')]) }, { additionalProperties: false }),
  Type.Object(
    {
      agg: Type.Union([
        Type.Literal('sum'),
        Type.Literal('avg'),
        Type.Literal('min'),
        Type.Literal('max'),
        Type.Literal('distinct'),
      ]),
      property: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
    },
    { additionalProperties: false },
  ),
])
export type Measure = Static<typeof Measure>

const CompareOpSchema = Type.Unsafe<CompareOp>(Type.Union(compareOps.map((o) => Type.Literal(o))))

export const Condition = Type.Cyclic(
  {
    Condition: Type.Union([
      Type.Object(
        {
          attribute: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
          op: FilterOp,
          value: Type.Optional(FilterValue),
        },
        { additionalProperties: false },
      ),
      Type.Object(
        {
          event: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
          where: Type.Optional(Type.Array(Filter, { maxItems: ruleLimits.filters })),
          window: Type.Optional(Window),
          measure: Type.Optional(Measure),
          op: CompareOpSchema,
          value: Type.Union([Type.Number(), Type.Tuple([Type.Number(), Type.Number()])]),
        },
        { additionalProperties: false },
      ),
      Type.Object(
        { all: Type.Array(Type.Ref('Condition'), { minItems: 1, maxItems: ruleLimits.conditionChildren }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { any: Type.Array(Type.Ref('Condition'), { minItems: 1, maxItems: ruleLimits.conditionChildren }) },
        { additionalProperties: false },
      ),
      Type.Object({ not: Type.Ref('Condition') }, { additionalProperties: false }),
    ]),
  },
  'Condition',
)
export type Condition = Static<typeof Condition>
export type AttributeCondition = Extract<Condition, { attribute: string }>
export type BehaviourCondition = Extract<Condition, { event: string }>
export type AllCondition = Extract<Condition, { all: unknown }>
export type AnyCondition = Extract<Condition, { any: unknown }>
export type NotCondition = Extract<Condition, { not: unknown }>

const EventScope = {
  event: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
  where: Type.Optional(Type.Array(Filter, { maxItems: ruleLimits.filters })),
  window: Type.Optional(Window),
}

export const CustomRule = Type.Object(
  {
    method: Type.Literal('custom'),
    values: Type.Array(Type.Object({ value: Type.Unknown(), when: Condition }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: ruleLimits.layers,
    }),
    otherwise: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
)
export const MetricRule = Type.Object(
  { method: Type.Literal('metric'), ...EventScope, measure: Measure },
  { additionalProperties: false },
)
export const FirstLastRule = Type.Object(
  {
    method: Type.Literal('first_last'),
    which: Type.Union([Type.Literal('first'), Type.Literal('last')]),
    ...EventScope,
    property: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
  },
  { additionalProperties: false },
)
export const PreferenceRule = Type.Object(
  {
    method: Type.Literal('preference'),
    ...EventScope,
    property: Type.String({ minLength: 1, maxLength: ruleLimits.nameLength }),
    by: Type.Optional(Measure),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: ruleLimits.top })),
  },
  { additionalProperties: false },
)
export const DistributionRule = Type.Object(
  {
    method: Type.Literal('distribution'),
    ...EventScope,
    measure: Measure,
    boundaries: Type.Array(Type.Number(), { minItems: 1, maxItems: ruleLimits.intervals - 1 }),
    names: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: ruleLimits.intervalNameLength }), {
        minItems: 2,
        maxItems: ruleLimits.intervals,
      }),
    ),
  },
  { additionalProperties: false },
)
export const ImportRule = Type.Object({ method: Type.Literal('import') }, { additionalProperties: false })

// The `$id` names it once in the OpenAPI document (every route that takes a rule references it).
export const Rule = Type.Union([CustomRule, MetricRule, FirstLastRule, PreferenceRule, DistributionRule, ImportRule], {
  $id: 'Rule',
})

export type CustomRule = Static<typeof CustomRule>
export type MetricRule = Static<typeof MetricRule>
export type FirstLastRule = Static<typeof FirstLastRule>
export type PreferenceRule = Static<typeof PreferenceRule>
export type DistributionRule = Static<typeof DistributionRule>
export type ImportRule = Static<typeof ImportRule>
export type Rule = CustomRule | MetricRule | FirstLastRule | PreferenceRule | DistributionRule | ImportRule
export type RuleMethod = Rule['method']
/** The methods as a schema (responses that name a label's method). */
export const RuleMethod = Type.Unsafe<RuleMethod>(
  Type.Union(
    [CustomRule, MetricRule, FirstLastRule, PreferenceRule, DistributionRule, ImportRule].map(
      (r) => r.properties.method,
    ),
  ),
)
