import type { TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { LabelsError } from '../errors.ts'

// Compiled validators are ~1000× faster than Value.Check on large rules (500 conditions:
// ~0.1 ms vs ~200 ms); TypeBox falls back to interpretation where code generation is barred.
const compiled = new WeakMap<TSchema, Validator>()
function validator(schema: TSchema): Validator {
  let v = compiled.get(schema)
  if (!v) compiled.set(schema, (v = Compile(schema) as unknown as Validator))
  return v
}

/** Checks a value against a schema; throws LabelsError('bad_request') naming the deepest failing path. */
export function check<T>(schema: TSchema, value: unknown, basePath = ''): T {
  const v = validator(schema)
  if (v.Check(value)) return value as T
  const errors = [...v.Errors(value)]
  // Union branches that don't apply report "schema is false" for foreign fields and anyOf
  // summaries; prefer a concrete error, then the deepest path as the most specific.
  const vague = (k: string) => k === 'boolean' || k === 'anyOf' || k === 'oneOf'
  errors.sort(
    (a, b) => Number(vague(a.keyword)) - Number(vague(b.keyword)) || b.instancePath.length - a.instancePath.length,
  )
  const e = errors[0]
  const path = basePath + (e?.instancePath ?? '')
  throw new LabelsError('bad_request', `${path || '/'}: ${e?.message ?? 'invalid value'}`, path || '/')
}
