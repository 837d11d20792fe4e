import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'

/**
 * Statement timeouts. On PostgreSQL `SET LOCAL statement_timeout` cancels a runaway query
 * inside the current transaction. PGlite runs in one WASM thread without timers, so the
 * setting is accepted but never fires (checked on PGlite 0.5); there the deadline is
 * enforced after each step instead: the work can't be interrupted, but a step that
 * overran still fails the run and rolls back, so the outcome is the same.
 */
export class Deadline {
  private readonly start = Date.now()
  constructor(readonly ms: number | undefined) {}

  /** Applies the timeout to the current transaction (PostgreSQL). */
  async apply(tx: SqlExecutor): Promise<void> {
    if (this.ms === undefined) return
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.max(1, Math.ceil(this.ms)))])
  }

  /** Throws the timeout error when the deadline has passed. */
  check(): void {
    if (this.ms !== undefined && Date.now() - this.start > this.ms) throw timeoutError(this.ms)
  }
}

/** The error of an exceeded timeout. */
export function timeoutError(ms: number): LabelsError {
  return new LabelsError('timeout', `calculation exceeded the timeout of ${ms} ms`)
}

/** True for PostgreSQL's "canceling statement due to statement timeout" (57014). */
export function isStatementTimeout(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === '57014'
}
