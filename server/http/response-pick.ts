import {
  IsArray,
  IsCyclic,
  IsIntersect,
  IsObject,
  IsRecord,
  IsRef,
  IsSchema,
  IsTuple,
  IsUnion,
  type TSchema,
} from 'typebox'
import { Compile } from 'typebox/compile'
import { Settings } from 'typebox/system'
import { UnionPrioritySort } from 'typebox/value'

/**
 * A reply reduced to what its response schema declares, as `Value.Clean(schema, structuredClone(v))`
 * gives it, compiled once per schema and without copying what needs no change. The soak's profile
 * had 12 % of the server's main thread in that clone-and-clean of every reply (the schema walked
 * generically, the whole reply cloned first). Here an object is copied only when it holds a field
 * to drop or a field whose value changes; everything else is the reply's own value (replies are
 * serialised at once, never mutated). Same rules as TypeBox's Clean:
 * - object: declared properties kept (each cleaned by its schema), others dropped unless
 *   `additionalProperties` is true or a schema they pass;
 * - array: every item cleaned by `items`;
 * - union: the first branch whose cleaned value passes the branch is taken; if none, the value as is;
 * - anything else: the value as is.
 * Union branches are tried in the order Clean tries them (narrowest first: Clean sorts the schema
 * on every call, `UnionPrioritySort`; here once). Schemas with records, intersections, tuples,
 * references or cycles: `compilePick` returns null and the caller keeps Value.Clean.
 */
export type Pick = (value: unknown) => unknown

const same: Pick = (v) => v

/** The picker of a response schema, or null where only Value.Clean applies. */
export function compilePick(schema: TSchema): Pick | null {
  try {
    return build(Settings.Get().unionPrioritySort ? (UnionPrioritySort(schema) as TSchema) : schema)
  } catch (e) {
    if (e instanceof Unsupported) return null
    throw e
  }
}

class Unsupported extends Error {}

const isObjectValue = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null

function build(schema: TSchema): Pick {
  if (IsRecord(schema) || IsIntersect(schema) || IsTuple(schema) || IsRef(schema) || IsCyclic(schema))
    throw new Unsupported()
  if (IsArray(schema)) {
    const item = build(schema.items as TSchema)
    if (item === same) return same
    return (v) => {
      if (!Array.isArray(v)) return v
      let out: unknown[] | null = null
      for (let i = 0; i < v.length; i++) {
        const y = item(v[i])
        if (out) out.push(y)
        else if (y !== v[i]) {
          out = v.slice(0, i)
          out.push(y)
        }
      }
      return out ?? v
    }
  }
  if (IsObject(schema)) return buildObject(schema as TSchema & { properties: Record<string, TSchema> })
  if (IsUnion(schema)) {
    const branches = (schema.anyOf as TSchema[]).map((b) => ({ pick: build(b), check: Compile(b) }))
    if (branches.every((b) => b.pick === same)) return same
    return (v) => {
      for (const b of branches) {
        const picked = b.pick(v)
        if (b.check.Check(picked)) return picked
      }
      return v
    }
  }
  return same
}

function buildObject(schema: TSchema & { properties: Record<string, TSchema> }): Pick {
  const props = new Map<string, Pick>()
  for (const [k, s] of Object.entries(schema.properties)) if (IsSchema(s)) props.set(k, build(s))
  const extra = (schema as { additionalProperties?: unknown }).additionalProperties
  const keepAll = extra === true
  const extraCheck = IsSchema(extra) ? Compile(extra as TSchema) : null
  const extraPick = extraCheck ? build(extra as TSchema) : same
  return (v) => {
    if (!isObjectValue(v) || Array.isArray(v)) return v
    // Null prototype: a field named `__proto__` stays a field.
    let out: Record<string, unknown> | null = null
    const keys = Object.getOwnPropertyNames(v)
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      const x = v[k]
      const pick = props.get(k)
      let y: unknown
      let keep = true
      if (pick) y = pick(x)
      else if (keepAll) y = x
      else if (extraCheck?.Check(x)) y = extraPick(x)
      else keep = false
      if (keep && y === x) {
        if (out) out[k] = x
        continue
      }
      // The first change: copy the fields before it, then go on field by field.
      if (!out) {
        out = Object.create(null) as Record<string, unknown>
        for (let j = 0; j < i; j++) out[keys[j]!] = v[keys[j]!]
      }
      if (keep) out[k] = y
    }
    return out ?? v
  }
}
