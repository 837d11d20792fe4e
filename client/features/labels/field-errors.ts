/**
 * Readable error sentences for the label editor: the shared schema's messages (TypeBox, e.g.
 * `/name: must match pattern "^[a-z]…"`) and the server's validation errors (docs/rules.md#validation) (already
 * words, e.g. `unknown event "purchase"`), each turned into "Field: what to do", shown next to
 * the field its JSON path names. Pure, no DOM.
 */

/** The label fields (docs/model.md#label-fields) as the editor names them. */
export const fieldNames: Readonly<Record<string, string>> = {
  name: 'Name',
  displayName: 'Display name',
  groupId: 'Group',
  dataType: 'Data type',
  labelType: 'Label type',
  schedule: 'Schedule',
  enabled: 'Enabled',
  description: 'Introduction',
  rule: 'Rule',
}

const ruleParts: Record<string, string> = {
  method: 'Creation method',
  event: 'Event',
  which: 'Which',
  property: 'Property',
  window: 'Window',
  lastDays: 'number of days',
  from: 'start date',
  to: 'end date',
  where: 'Only events',
  measure: 'Measure',
  by: 'Ranked by',
  top: 'Top',
  boundaries: 'Boundaries',
  names: 'Names',
  otherwise: 'Otherwise',
  values: 'Layers',
  when: 'condition',
  value: 'value',
  attribute: 'attribute',
  op: 'operator',
  agg: 'aggregation',
  all: 'all of',
  any: 'any of',
  not: 'not',
  at: 'time',
  weekday: 'weekday',
  day: 'day of month',
  kind: 'repeat',
}

/** The words for a JSON path: `/rule/values/0/when/all/1/value` → "Layer 1 › condition › all of › 2 › value". */
export function describeField(path: string): string {
  const parts = path
    .replace(/^\/body/, '')
    .split('/')
    .filter(Boolean)
  if (parts.length === 0) return 'Label'
  const [head, ...rest] = parts
  if (head === 'rule') {
    if (rest[0] === 'values' && rest[1] !== undefined && /^\d+$/.test(rest[1])) {
      const words = [`Layer ${Number(rest[1]) + 1}`, ...rest.slice(2).map(partWord)]
      return words.join(' › ')
    }
    if (rest.length === 0) return 'Rule'
    const [first, ...more] = rest.map(partWord)
    return [capitalise(first ?? ''), ...more].join(' › ')
  }
  const name = fieldNames[head ?? ''] ?? capitalise(head ?? '')
  return rest.length ? `${name} › ${rest.map(partWord).join(' › ')}` : name
}

const partWord = (p: string) => (/^\d+$/.test(p) ? `#${Number(p) + 1}` : (ruleParts[p] ?? p))
const capitalise = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s)

/** Known patterns, by their source text, in words. */
const patternWords: Record<string, string> = {
  '^[a-z][a-z0-9_]{0,63}$': 'lower-case letters, digits and _; start with a letter; at most 64 characters',
  '^([01]\\d|2[0-3]):[0-5]\\d$': 'a time of day as HH:MM (00:00 to 23:59)',
  '^\\d{4}-\\d{2}-\\d{2}$': 'a date as YYYY-MM-DD',
}

const typeWords: Record<string, string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'empty',
}

/** One schema or server message (without its path) in words; messages that are already words pass. */
function reword(message: string): string {
  let m: RegExpExecArray | null
  if ((m = /^must match pattern "(.*)"$/.exec(message)))
    return patternWords[m[1]!] ?? `does not have the expected form (${m[1]})`
  if ((m = /^must not have fewer than (\d+) characters$/.exec(message)))
    return m[1] === '1' ? 'required; it cannot be empty' : `at least ${m[1]} characters`
  if ((m = /^must not have more than (\d+) characters$/.exec(message))) return `at most ${m[1]} characters`
  if ((m = /^must not have fewer than (\d+) items$/.exec(message)))
    return m[1] === '1' ? 'add at least one' : `at least ${m[1]} entries`
  if ((m = /^must not have more than (\d+) items$/.exec(message))) return `at most ${m[1]} entries`
  if ((m = /^must be <= (-?[\d.]+)$/.exec(message))) return `at most ${m[1]}`
  if ((m = /^must be < (-?[\d.]+)$/.exec(message))) return `less than ${m[1]}`
  if ((m = /^must be >= (-?[\d.]+)$/.exec(message))) return `at least ${m[1]}`
  if ((m = /^must be > (-?[\d.]+)$/.exec(message))) return `more than ${m[1]}`
  if ((m = /^must be (string|number|integer|boolean|object|array|null)$/.exec(message)))
    return `must be ${typeWords[m[1]!]}`
  if ((m = /^must have required propert(?:y|ies) (.+)$/.exec(message)))
    return `missing ${m[1]!.split(/,\s*/).map(partWord).join(', ')}`
  if (/^must be equal to (one of the allowed values|constant)$/.test(message)) return 'not one of the allowed choices'
  if (/^must not have additional properties$/.test(message)) return 'has a field that does not belong here'
  if (message === 'unknown field') return 'is not a field here'
  if (/^must not have unevaluated properties$/.test(message)) return 'has a field that does not belong here'
  if ((m = /^unknown event (".*")$/.exec(message)))
    return `there is no event ${m[1]} in the workspace's data yet; load events first (see Load data on the overview) or pick another`
  if ((m = /^unknown user attribute (".*")$/.exec(message)))
    return `there is no user attribute ${m[1]} in the workspace's data yet; load users first or pick another`
  return message
}

/**
 * "Field: what to do" for an error at `path`. `message` may start with the path itself
 * (`/name: must match…`, as LabelsError messages do); that prefix is dropped.
 */
export function humanError(path: string | null | undefined, message: string): string {
  const p = path ?? '/'
  const body = message.startsWith(`${p}: `)
    ? message.slice(p.length + 2)
    : /^\/[\w/]*: /.test(message)
      ? message.slice(message.indexOf(': ') + 2)
      : message
  const words = reword(body.trim())
  return p === '/' ? capitalise(words) : `${describeField(p)}: ${words}`
}
