/**
 * Columns a data schema may grow to. PostgreSQL refuses a table past 1600 columns (dropped
 * ones included), and that refusal came back as a 500 from the middle of a commit; these
 * limits keep well under it (users: uid, user_id + attributes; ev<N>: seq, uid, time, event_id
 * + properties) and are checked per row, so the row that would pass one is refused by name.
 */
export const maxUserAttributes = 1000
export const maxEventProperties = 1000

/** The limit of one target: user attributes (event '') or one event's properties. */
export const columnLimit = (event: string | null): number => (event ? maxEventProperties : maxUserAttributes)

/** Why a new attribute/property can't be added to a target that already has `count` of them. */
export function columnLimitProblem(event: string | null, name: string, count: number): string | null {
  const limit = columnLimit(event)
  if (count < limit) return null
  return event
    ? `property "${name}": event "${event}" already has ${limit} properties, the most one event may have`
    : `attribute "${name}": users already have ${limit} attributes, the most allowed`
}
