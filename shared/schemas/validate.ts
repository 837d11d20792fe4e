import type { TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { Settings } from 'typebox/system'
import { LabelsError } from '../errors.ts'

// TypeBox stops gathering a failing value's errors after `maxErrors` (8 by default): too few to get
// past a union's first branches to the one the value means (a rule's `method`, a schedule's `kind`),
// so a bad `top` of a preference rule was reported at `/method`. Errors are gathered only for a
// value that failed, and request bodies are bounded before they are checked (json-guard.ts).
Settings.Set({ maxErrors: 256 })

// Compiled validators are ~1000× faster than Value.Check on large rules (500 conditions:
// ~0.1 ms vs ~200 ms); TypeBox falls back to interpretation where code generation is barred.
const compiled = new WeakMap<TSchema, Validator>()
function validator(schema: TSchema): Validator {
  let v = compiled.get(schema)
  if (!v) compiled.set(schema, (v = Compile(schema) as unknown as Validator))
  return v
}

/** What ranking a validation error needs of TypeBox's. */
export interface SchemaError {
  keyword: string
  schemaPath: string
  instancePath: string
  message: string
  params?: unknown
}

/**
 * The error of a union branch's literal field (`#/…/anyOf/3/properties/method`, or one of its
 * literals: `…/properties/agg/anyOf/1`): union, branch, field.
 */
const literalError = /^(.*\/anyOf\/)(\d+)\/properties\/([^/]+)(?:\/anyOf\/\d+)?$/
// Union branches that don't apply report "schema is false" for foreign fields and anyOf
// summaries; a concrete error says more.
const vague = (k: string) => k === 'boolean' || k === 'anyOf' || k === 'oneOf'
const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`)

/**
 * The error to report of a value's failures. A union branch whose literal field differs from the
 * value's is left out when another branch of that union took the value's field (it failed for
 * another reason, with no error at that field): the value names that other branch, by a rule's
 * `method`, a schedule's `kind` or a measure's `agg`, and its error is the one that helps. Then a
 * concrete error before a vague one, and the deepest path, as the most specific. A field that
 * takes one of several literals says which; a field the object doesn't have is named.
 */
export function reportedError<E extends SchemaError>(
  errors: ReadonlyArray<E>,
): { instancePath: string; message: string } | undefined {
  const branchIn = (union: string, e: E) =>
    e.schemaPath.startsWith(union) ? /^\d+/.exec(e.schemaPath.slice(union.length))?.[0] : undefined
  const off: Array<{ branch: string; at: string }> = []
  for (const e of errors) {
    const m = e.keyword === 'const' ? literalError.exec(e.schemaPath) : null
    if (!m) continue
    const [, union = '', index, field = ''] = m
    const at = e.instancePath.slice(0, e.instancePath.lastIndexOf('/'))
    const others = new Map<string, boolean>() // branch → whether it has an error at the field
    for (const o of errors) {
      const b = branchIn(union, o)
      if (b === undefined || b === index || !under(o.instancePath, at)) continue
      others.set(b, (others.get(b) ?? false) || under(o.instancePath, `${at}/${field}`))
    }
    if ([...others.values()].some((atField) => !atField)) off.push({ branch: `${union}${index}`, at })
  }
  const applying = errors.filter((e) => !off.some((o) => under(e.schemaPath, o.branch) && under(e.instancePath, o.at)))
  const e = [...applying].sort(
    (a, b) => Number(vague(a.keyword)) - Number(vague(b.keyword)) || b.instancePath.length - a.instancePath.length,
  )[0]
  const extra =
    e?.keyword === 'additionalProperties' && (e.params as { additionalProperties?: unknown })?.additionalProperties
  if (e && Array.isArray(extra) && typeof extra[0] === 'string')
    return {
      instancePath: `${e.instancePath}/${extra[0].replace(/~/g, '~0').replace(/\//g, '~1')}`,
      message: 'unknown field',
    }
  if (e?.keyword !== 'const') return e && { instancePath: e.instancePath, message: e.message }
  const allowed = new Set(
    applying
      .filter((o) => o.keyword === 'const' && o.instancePath === e.instancePath)
      .map((o) => JSON.stringify((o.params as { allowedValue?: unknown } | undefined)?.allowedValue)),
  )
  return {
    instancePath: e.instancePath,
    message: allowed.size > 1 ? `must be one of ${[...allowed].join(', ')}` : e.message,
  }
}

/** Checks a value against a schema; throws LabelsError('bad_request') naming the most specific failing path. */
export function check<T>(schema: TSchema, value: unknown, basePath = ''): T {
  const v = validator(schema)
  if (v.Check(value)) return value as T
  const e = reportedError([...v.Errors(value)])
  const path = basePath + (e?.instancePath ?? '')
  throw new LabelsError('bad_request', `${path || '/'}: ${e?.message ?? 'invalid value'}`, path || '/')
}
