/** The fixed fields of each kind of record; they can't also be attribute/property names. */
export const reservedNames = {
  users: new Set(['user_id']),
  events: new Set(['user_id', 'event', 'time', 'event_id']),
} as const

/** Longest accepted attribute, property or event name. */
export const maxNameLength = 128

/** Why a name can't name an attribute, property or event, or null when it can. */
export function badName(name: string, what: string): string | null {
  if (name.trim() === '') return `${what} name is empty`
  if (name.length > maxNameLength) return `${what} name is longer than ${maxNameLength} characters`
  // Control characters would make the schema unreadable in the UI and CSV exports.
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${what} name contains control characters`
  return null
}
