import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import type { Catalogue } from '../storage/catalogue.ts'
import { Emitter } from './emitter.ts'
import type { Predicate, WindowNode } from './ir.ts'
import { ruleSql } from './emit-rule.ts'
import { deltaRuleSql, hasDeltaForm, type DeltaContext } from './emit-delta.ts'
import { validateDefinition } from './validate-definition.ts'

export interface CompileContext {
  readonly catalogue: Catalogue
  readonly asOf: Date
  /** IANA time zone of the workspace: calendar windows and active days are in it. */
  readonly tz: string
  /** Compute only the customers whose uids this table holds (an incremental run: calc/incremental.ts). */
  readonly only?: string
  /**
   * An incremental run's stored results (`only` must be `delta.affected`): where the rule allows
   * (compiler/emit-delta.ts), the statement computes `only`'s customers, those of
   * `delta.recompute` from their events and the others from their stored value and the window's
   * edges; elsewhere it is the plain statement restricted to `only`.
   */
  readonly delta?: DeltaContext
}

export interface CompiledRule {
  readonly sql: string
  readonly params: unknown[]
  /**
   * The event tables and windows the statement reads (an incremental run's changed windows).
   * Absent where the statement may not be restricted to some customers (shared scans).
   */
  readonly scopes?: ReadonlyArray<ScopeRead>
  /** The table of uids it was restricted to (ctx.only), so a caller can tell it was honoured. */
  readonly only?: string
  /** Set when the statement is the delta form of ctx.delta (compiler/emit-delta.ts); else it is the plain one. */
  readonly delta?: true
}

/** An event table, a window and the filters of rows a statement reads. */
export interface ScopeRead {
  readonly table: string
  readonly window: WindowNode
  readonly where: readonly Predicate[]
}

/**
 * Compiles a label definition to one statement returning `(uid int, value T)` per covered
 * user (value never NULL). Validates first: throws LabelsError bad_request / invalid.
 */
export function compileRule(def: { dataType: DataType; rule: Rule }, ctx: CompileContext): CompiledRule {
  const node = validateDefinition(def, ctx.catalogue)
  if (ctx.delta && ctx.only !== ctx.delta.affected)
    throw new Error('a delta statement computes the customers of `only`')
  const delta = ctx.delta && hasDeltaForm(node, ctx.delta.baseAsOf, ctx.asOf) ? ctx.delta : null
  // The delta form computes `only`'s customers, of which those of `recompute` from their events.
  const e = new Emitter(ctx.asOf, ctx.tz, undefined, delta ? delta.recompute : ctx.only)
  const deltaSql = delta ? deltaRuleSql(e, node, delta, def.dataType) : null
  if (delta && deltaSql !== null) {
    return { sql: deltaSql, params: e.params.values, scopes: scopesRead(e), only: delta.affected, delta: true }
  }
  const sql = ruleSql(e, node)
  return { sql, params: e.params.values, scopes: scopesRead(e), ...(ctx.only !== undefined ? { only: ctx.only } : {}) }
}

const scopesRead = (e: Emitter): ScopeRead[] =>
  e.scopesRead.map((s) => ({ table: s.event.table, window: s.window, where: s.where }))
