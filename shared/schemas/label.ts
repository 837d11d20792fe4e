import { Type, type Static } from 'typebox'
import { Rule } from './rule.ts'

export const DataType = Type.Union([
  Type.Literal('string'),
  Type.Literal('number'),
  Type.Literal('collection'),
  Type.Literal('date'),
  Type.Literal('boolean'),
])
export type DataType = Static<typeof DataType>

export const LabelType = Type.Union([Type.Literal('dynamic'), Type.Literal('static')])
export type LabelType = Static<typeof LabelType>

const At = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' })
export const Schedule = Type.Union(
  [
    Type.Object({ kind: Type.Literal('once') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('daily'), at: At }, { additionalProperties: false }),
    Type.Object(
      { kind: Type.Literal('weekly'), weekday: Type.Integer({ minimum: 1, maximum: 7 }), at: At },
      { additionalProperties: false },
    ),
    Type.Object(
      { kind: Type.Literal('monthly'), day: Type.Integer({ minimum: 1, maximum: 31 }), at: At },
      { additionalProperties: false },
    ),
  ],
  { $id: 'Schedule' },
)
export type Schedule = Static<typeof Schedule>

/** The schedule a label gets when none is given: once for static, daily at midnight for dynamic. */
export function defaultSchedule(labelType: LabelType): Schedule {
  return labelType === 'static' ? { kind: 'once' } : { kind: 'daily', at: '00:00' }
}

export const LabelName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' })

/** The editable fields of a label (docs/model.md#label-fields); POST /api/labels takes these. */
export const LabelInput = Type.Object(
  {
    name: LabelName,
    displayName: Type.String({ minLength: 1, maxLength: 100 }),
    groupId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    dataType: DataType,
    labelType: LabelType,
    schedule: Type.Optional(Schedule),
    enabled: Type.Optional(Type.Boolean()),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    rule: Rule,
  },
  { additionalProperties: false },
)
export type LabelInput = Omit<Static<typeof LabelInput>, 'rule'> & { rule: import('./rule.ts').Rule }

/** PATCH /api/labels/:label — any label field, and nothing else (a typo is refused, not ignored). */
export const LabelPatch = Type.Partial(LabelInput, { additionalProperties: false })
export type LabelPatch = Partial<LabelInput>

/** A stored label definition as read from the workspace document. */
export interface Label {
  id: string
  name: string
  displayName: string
  groupId: string
  dataType: DataType
  labelType: LabelType
  schedule: Schedule
  enabled: boolean
  description: string
  rule: import('./rule.ts').Rule
  createdAt: string
  updatedAt: string
}
