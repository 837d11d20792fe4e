import type { SqlExecutor } from '../sql-executor.ts'

/**
 * A transaction nested in another one runs under a savepoint: a failure inside it rolls back
 * only its own work (ROLLBACK TO SAVEPOINT) and rethrows, so a caller that catches it keeps an
 * outer transaction that can still commit. `child` is the executor fn gets (one level deeper). Siblings on one connection can't interleave their
 * statements meaningfully, so a second nested transaction while one is open is a bug and throws.
 */
export function makeNested(
  tx: SqlExecutor,
  depth: number,
  child: () => SqlExecutor,
): <T>(fn: (tx: SqlExecutor) => Promise<T>) => Promise<T> {
  let seq = 0
  let open = false
  return async <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    if (open)
      throw new Error(
        'nested transactions on one connection must run one at a time (await the first before starting another)',
      )
    open = true
    const name = `labels_sp_${depth}_${++seq}`
    try {
      await tx.exec(`SAVEPOINT ${name}`)
      let out: T
      try {
        out = await fn(child())
      } catch (e) {
        // If the connection itself failed, the original error is the one worth reporting.
        await tx.exec(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`).catch(() => {})
        throw e
      }
      await tx.exec(`RELEASE SAVEPOINT ${name}`)
      return out
    } finally {
      open = false
    }
  }
}
