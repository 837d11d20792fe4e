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
  private readonly start: number
  /** `ms` from `startAt` (epoch ms, default now: a caller on another thread may have started the clock). */
  constructor(
    readonly ms: number | undefined,
    startAt = Date.now(),
  ) {
    this.start = startAt
  }

  /** Applies the timeout to the current transaction (PostgreSQL). */
  async apply(tx: SqlExecutor): Promise<void> {
    if (this.ms === undefined) return
    await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(Math.max(1, Math.ceil(this.ms)))])
  }

  /** Milliseconds left (Infinity without a budget). */
  remaining(): number {
    return this.ms === undefined ? Infinity : this.ms - (Date.now() - this.start)
  }

  /**
   * The transaction executor with the budget applied to the whole of it rather than to each
   * statement: on PostgreSQL every statement first gets `statement_timeout` = the time left
   * (a per-statement timeout let a preview of several statements take several budgets), and a
   * statement is not started once the budget is spent. On PGlite (no timer fires) only the
   * latter.
   */
  bound(tx: SqlExecutor): SqlExecutor {
    if (this.ms === undefined) return tx
    const left = () => {
      const ms = Math.ceil(this.remaining())
      if (ms <= 0) throw timeoutError(this.ms as number)
      return ms
    }
    const setLeft = async () => {
      const ms = left()
      if (tx.kind === 'postgres') await tx.query(`SELECT set_config('statement_timeout', $1, true)`, [String(ms)])
    }
    return {
      kind: tx.kind,
      ...(tx.citus ? { citus: true } : {}),
      query: async (sql, params) => (await setLeft(), tx.query(sql, params)),
      exec: async (sql) => (await setLeft(), tx.exec(sql)),
      transaction: (fn) => tx.transaction(fn),
      close: () => tx.close(),
    }
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
