/** Operator roles (docs/api.md#roles), weakest first: viewer reads, editor edits, admin ingests. */
export type Role = 'viewer' | 'editor' | 'admin'

const rank: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 }

export const roles: readonly Role[] = ['viewer', 'editor', 'admin']

/** True when `have` may do what `need` allows. */
export function roleAllows(have: Role, need: Role): boolean {
  return rank[have] >= rank[need]
}

export function isRole(s: string): s is Role {
  return s in rank
}

export interface Operator {
  name: string
  role: Role
}
