import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { LabelsError } from '../errors.ts'

/** Checks a value against a schema; throws LabelsError('bad_request') naming the deepest failing path. */
export function check<T>(schema: TSchema, value: unknown, basePath = ''): T {
  if (Value.Check(schema, value)) return value as T
  const errors = [...Value.Errors(schema, value)]
  // Union branches that don't apply report "schema is false" for foreign fields and anyOf
  // summaries; prefer a concrete error, then the deepest path as the most specific.
  const vague = (k: string) => k === 'boolean' || k === 'anyOf' || k === 'oneOf'
  errors.sort((a, b) => Number(vague(a.keyword)) - Number(vague(b.keyword)) || b.instancePath.length - a.instancePath.length)
  const e = errors[0]
  const path = basePath + (e?.instancePath ?? '')
  throw new LabelsError('bad_request', `${path || '/'}: ${e?.message ?? 'invalid value'}`, path || '/')
}
