import type { SqlExecutor } from '../../engine/sql-executor.ts'

/** What a tap is told of a statement, before it is sent. */
export interface Tap {
  /** Each statement (`query` or `exec`), with the executor it goes to: a throw fails it unsent. */
  statement(sql: string, params: unknown[] | undefined, target: SqlExecutor): void | Promise<void>
  /** Each transaction, as it begins and as it ends (committed or rolled back). */
  transaction?(edge: 'begin' | 'end'): void
}

/**
 * `db` with every statement sent through it, in and out of its transactions (each transaction's
 * executor is tapped too), shown to `tap` before it runs: to record what a path sends, plan it,
 * or fail it.
 */
export function tapped(db: SqlExecutor, tap: Tap): SqlExecutor {
  return new Proxy(db, {
    get(target, key) {
      if (key === 'query')
        return async (sql: string, params?: unknown[]) => {
          await tap.statement(sql, params, target)
          return target.query(sql, params)
        }
      if (key === 'exec')
        return async (sql: string) => {
          await tap.statement(sql, undefined, target)
          return target.exec(sql)
        }
      if (key === 'transaction')
        return async <T>(fn: (tx: SqlExecutor) => Promise<T>) => {
          tap.transaction?.('begin')
          try {
            return await target.transaction((tx) => fn(tapped(tx, tap)))
          } finally {
            tap.transaction?.('end')
          }
        }
      const v = Reflect.get(target, key)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}
