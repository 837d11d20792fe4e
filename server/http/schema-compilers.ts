import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import { LabelsError } from '../../shared/errors.ts'
import { jsonProblem } from '../../shared/json-guard.ts'

// Vague keywords come from union branches that don't apply; a concrete error says more.
const vague = (k: string) => k === 'boolean' || k === 'anyOf' || k === 'oneOf'

/**
 * Validates every request part with TypeBox (the same validator the engine uses), so a bad
 * body answers 400 with the deepest failing JSON path, e.g. `/body/rule/values/0/when/op`.
 * Querystrings and params are converted first ("5" → 5) as Fastify's Ajv would.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const compiled = Compile(schema)
  const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'body')
  return (value: unknown) => {
    // Before the schema: its validator recurses (stack overflow on deep input) and NUL can't be stored.
    const problem = jsonProblem(value)
    if (problem) {
      const path = `/${part}${problem.path}`
      return { error: new LabelsError('bad_request', `${path}: ${problem.message}`, path) }
    }
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value)
    if (compiled.Check(converted)) return { value: converted }
    const errors = [...compiled.Errors(converted)]
    errors.sort((a, b) => Number(vague(a.keyword)) - Number(vague(b.keyword)) || b.instancePath.length - a.instancePath.length)
    const e = errors[0]
    const path = `/${part}${e?.instancePath ?? ''}`
    return { error: new LabelsError('bad_request', `${path}: ${e?.message ?? 'invalid value'}`, path) }
  }
}

/**
 * Serialises only what the response schema declares: undeclared fields (document internals
 * such as `order` or `rawGroupId`) are removed from a copy of the reply, never from the
 * caller's object (it may be a cached projection). Fields typed Unknown (a rule, a schedule)
 * pass whole. With `strict` the reply is first checked against the schema, so tests catch
 * contract drift.
 */
export function makeSerializerCompiler(strict: boolean): FastifySerializerCompiler<TSchema> {
  return ({ schema, url, method }) => {
    const compiled = strict ? Compile(schema) : null
    return (data) => {
      if (compiled && !compiled.Check(data)) {
        const e = [...compiled.Errors(data)][0]
        throw new LabelsError('internal', `response of ${method} ${url} breaks its schema at ${e?.instancePath || '/'}: ${e?.message}`)
      }
      return JSON.stringify(Value.Clean(schema, structuredClone(data)))
    }
  }
}
