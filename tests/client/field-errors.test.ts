import { describe, expect, it } from 'vitest'
import { describeField, humanError } from '../../client/features/labels/field-errors.ts'
import { LabelInput } from '../../shared/schemas/label.ts'
import { check } from '../../shared/schemas/validate.ts'
import { LabelsError } from '../../shared/errors.ts'

/** The error the shared schema gives for one field of a label (what the editor and the server report). */
function schemaError(field: keyof typeof LabelInput.properties, value: unknown): { path: string; message: string } {
  try {
    check(LabelInput.properties[field], value, `/${field}`)
  } catch (e) {
    if (e instanceof LabelsError) return { path: e.path ?? '/', message: e.message }
    throw e
  }
  throw new Error(`${field}: ${JSON.stringify(value)} passed`)
}

describe('human error messages', () => {
  it('turns the name pattern into the rule in words', () => {
    const e = schemaError('name', 'Bad Name')
    expect(e.message).toContain('must match pattern')
    expect(humanError(e.path, e.message)).toBe(
      'Name: lower-case letters, digits and _; start with a letter; at most 64 characters',
    )
  })

  it('says how long a display name may be, and that it is required', () => {
    const empty = schemaError('displayName', '')
    expect(humanError(empty.path, empty.message)).toBe('Display name: required; it cannot be empty')
    const long = schemaError('displayName', 'x'.repeat(101))
    expect(humanError(long.path, long.message)).toBe('Display name: at most 100 characters')
  })

  it('names schedule parts and bounds', () => {
    const e = schemaError('schedule', { kind: 'weekly', weekday: 9, at: '02:00' })
    expect(humanError(e.path, e.message)).toBe('Schedule › weekday: at most 7')
    expect(humanError('/schedule/at', '/schedule/at: must match pattern "^([01]\\d|2[0-3]):[0-5]\\d$"')).toBe(
      'Schedule › time: a time of day as HH:MM (00:00 to 23:59)',
    )
  })

  it('names rule parts by layer and explains server validation errors', () => {
    expect(describeField('/rule/values/0/when/all/1/value')).toBe('Layer 1 › condition › all of › #2 › value')
    expect(humanError('/rule/values/2/when/all', '/rule/values/2/when/all: must not have fewer than 1 items')).toBe(
      'Layer 3 › condition › all of: add at least one',
    )
    expect(humanError('/rule/window/lastDays', 'must be >= 1')).toBe('Window › number of days: at least 1')
    expect(humanError('/rule/event', 'unknown event "purchase"')).toMatch(
      /^Event: there is no event "purchase" in the workspace's data yet; load events first/,
    )
    expect(humanError('/dataType', "this rule produces number values but the label's data type is date")).toBe(
      "Data type: this rule produces number values but the label's data type is date",
    )
    expect(humanError('/rule/values/0/when', 'must have required properties attribute')).toBe(
      'Layer 1 › condition: missing attribute',
    )
  })

  it('keeps messages it does not know, with the field in front; a message without a field stays as it is', () => {
    expect(humanError('/rule/boundaries/1', 'boundaries must increase strictly: 1 after 5')).toBe(
      'Boundaries › #2: boundaries must increase strictly: 1 after 5',
    )
    expect(humanError('/', 'the server is unavailable')).toBe('The server is unavailable')
    expect(humanError(undefined, 'a label named x already exists')).toBe('A label named x already exists')
    expect(humanError('/name', 'a label named x already exists')).toBe('Name: a label named x already exists')
  })
})
