import type { TSchema } from 'typebox'
import { Schedule } from '../../shared/schemas/label.ts'
import { Rule } from '../../shared/schemas/rule.ts'
import { Backfill, Distribution, HistoryBuckets, Run } from '../../shared/schemas/wire.ts'
import { ErrorBody, GroupOut, LabelOut } from './wire-schemas.ts'

/**
 * The schemas the OpenAPI document declares once, under components/schemas by their `$id`, and
 * references from every route (docs/openapi.json was ~600 KB with the rule inlined at each route).
 * Only the document changes: the routes keep their whole schemas for validation and replies.
 */
const named: TSchema[] = [Rule, Schedule, Run, Distribution, HistoryBuckets, Backfill, LabelOut, GroupOut, ErrorBody]
const ids = new Set(named.map((s) => (s as { $id?: string }).$id))

/** A copy of `schema` where every subschema with a named `$id` (the root too, unless `keepRoot`) is a `$ref` to it. */
function referenced(schema: unknown, keepRoot: boolean): unknown {
  if (typeof schema !== 'object' || schema === null) return schema
  if (Array.isArray(schema)) return schema.map((s) => referenced(s, false))
  const id = (schema as { $id?: unknown }).$id
  if (!keepRoot && typeof id === 'string' && ids.has(id)) return { $ref: `${id}#` }
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(schema)) out[k] = referenced(v, false)
  return out
}

/** The shared schemas to `app.addSchema` (each with its own named parts referenced). */
export const sharedSchemas = (): Array<Record<string, unknown>> =>
  named.map((s) => referenced(s, true) as Record<string, unknown>)

/** @fastify/swagger `transform`: a route's schema with the shared schemas referenced. */
export function referenceSharedSchemas({ schema, url }: { schema: unknown; url: string }) {
  return { schema: referenced(schema, false) as Record<string, unknown>, url }
}
