import { Type } from 'typebox'

export const DEFAULT_GROUP_ID = 'default'

export const GroupCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    parentId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: false },
)
export const GroupPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    parentId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    index: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
)

/** One node of the projected group tree (GET /api/groups). */
export interface GroupNode {
  id: string
  name: string
  parentId: string | null
  isDefault: boolean
  children: GroupNode[]
}
