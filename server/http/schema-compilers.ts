import { Readable } from 'node:stream'
import type { FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import { LabelsError } from '../../shared/errors.ts'
import { jsonProblem } from '../../shared/json-guard.ts'
import { reportedError } from '../../shared/schemas/validate.ts'
import { compilePick } from './response-pick.ts'

/**
 * The first field of a querystring or params object that its schema types as an integer but whose
 * text is not one: TypeBox's conversion truncates `2.5` to 2 and reads `1e1` and `0x10` as numbers,
 * so `?top=2.5` answered two items instead of a 400.
 */
function looseInteger(schema: TSchema, value: unknown): string | null {
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties
  if (!props || typeof value !== 'object' || value === null) return null
  for (const [k, sub] of Object.entries(props)) {
    const v = (value as Record<string, unknown>)[k]
    if (sub.type === 'integer' && typeof v === 'string' && !/^[+-]?\d+$/.test(v)) return k
  }
  return null
}

/**
 * Validates every request part with TypeBox (the same validator the engine uses), so a bad
 * body answers 400 with the most specific failing JSON path, e.g. `/body/rule/values/0/when/op`
 * (shared/schemas/validate.ts reportedError).
 * Querystrings and params are converted first ("5" → 5) as Fastify's Ajv would.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const compiled = Compile(schema)
  const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'body')
  return (value: unknown) => {
    // A data body (NDJSON, CSV, text: app.ts passes them on as streams) sent to a route that takes JSON.
    if (httpPart === 'body' && value instanceof Readable)
      return {
        error: new LabelsError(
          'bad_request',
          '/headers/content-type: this route takes a JSON body (Content-Type: application/json)',
          '/headers/content-type',
        ),
      }
    // Before the schema: its validator recurses (stack overflow on deep input) and NUL can't be stored.
    const problem = jsonProblem(value)
    if (problem) {
      const path = `/${part}${problem.path}`
      return { error: new LabelsError('bad_request', `${path}: ${problem.message}`, path) }
    }
    const loose = httpPart === 'body' ? null : looseInteger(schema, value)
    if (loose) {
      const path = `/${part}/${loose}`
      return { error: new LabelsError('bad_request', `${path}: must be integer`, path) }
    }
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value)
    if (compiled.Check(converted)) return { value: converted }
    const e = reportedError([...compiled.Errors(converted)])
    const path = `/${part}${e?.instancePath ?? ''}`
    return { error: new LabelsError('bad_request', `${path}: ${e?.message ?? 'invalid value'}`, path) }
  }
}

/**
 * Fields the document keeps for itself (projection order and raw group, a draft's Yjs item ids); replies drop them on
 * purpose.
 */
const INTERNAL_FIELDS = new Set(['order', 'rawGroupId', 'instance', 'replaced'])

/** The first path where `cleaned` lacks a key `data` has (a field the schema doesn't declare), or null. */
function droppedField(data: unknown, cleaned: unknown, path = ''): string | null {
  if (typeof data !== 'object' || data === null || typeof cleaned !== 'object' || cleaned === null) return null
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue
    if (!(k in cleaned)) return INTERNAL_FIELDS.has(k) ? null : `${path}/${k}`
    const inner = droppedField(v, (cleaned as Record<string, unknown>)[k], `${path}/${k}`)
    if (inner) return inner
  }
  return null
}

/**
 * Serialises only what the response schema declares: undeclared fields (document internals
 * such as `order` or `rawGroupId`) are removed from a copy of the reply, never from the
 * caller's object (it may be a cached projection). Fields typed Unknown (a rule, a schedule)
 * pass whole. With `strict` (tests) the reply is first checked against the schema, and a
 * field the schema would drop, other than the document's internals, fails the reply: a new
 * field must be declared to be sent, and the test suite says which one is not.
 */
export function makeSerializerCompiler(strict: boolean): FastifySerializerCompiler<TSchema> {
  return ({ schema, url, method }) => {
    const compiled = strict ? Compile(schema) : null
    const pick = compilePick(schema)
    return (data) => {
      if (compiled && !compiled.Check(data)) {
        const e = [...compiled.Errors(data)][0]
        throw new LabelsError(
          'internal',
          `response of ${method} ${url} breaks its schema at ${e?.instancePath || '/'}: ${e?.message}`,
        )
      }
      const cleaned = pick ? pick(data) : Value.Clean(schema, structuredClone(data))
      const json = JSON.stringify(cleaned)
      if (compiled) {
        // The compiled picker must give what Value.Clean gives (every reply of the test suite checks it).
        if (pick && json !== JSON.stringify(Value.Clean(schema, structuredClone(data))))
          throw new LabelsError(
            'internal',
            `response of ${method} ${url}: the compiled picker differs from Value.Clean`,
          )
        const dropped = droppedField(data, cleaned)
        if (dropped)
          throw new LabelsError(
            'internal',
            `response of ${method} ${url} has ${dropped}, which its schema does not declare`,
          )
      }
      return json
    }
  }
}
