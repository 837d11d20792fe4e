import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import type { Catalogue } from '../storage/catalogue.ts'
import { Emitter } from './emitter.ts'
import { ruleSql } from './emit-rule.ts'
import { validateDefinition } from './validate-definition.ts'

export interface CompileContext {
  readonly catalogue: Catalogue
  readonly asOf: Date
  /** IANA time zone of the workspace: calendar windows and active days are in it. */
  readonly tz: string
}

export interface CompiledRule {
  readonly sql: string
  readonly params: unknown[]
}

/**
 * Compiles a label definition to one statement returning `(uid int, value T)` per covered
 * user (value never NULL). Validates first: throws LabelsError bad_request / invalid.
 */
export function compileRule(def: { dataType: DataType; rule: Rule }, ctx: CompileContext): CompiledRule {
  const node = validateDefinition(def, ctx.catalogue)
  const e = new Emitter(ctx.asOf, ctx.tz)
  const sql = ruleSql(e, node)
  return { sql, params: e.params.values }
}
