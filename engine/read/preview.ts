import type { Definition, Distribution, DistributionQuery } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { parseAsOf } from '../calc/runs.ts'
import { Deadline, isStatementTimeout, timeoutError } from '../calc/timeout.ts'
import { coveredFilter, noValuesSql } from '../calc/value-types.ts'
import type { CompileFn } from '../calc/execute-run.ts'
import { distributionItems } from './distribution-items.ts'
import { resolveQuery } from './distribution-query.ts'
import { countUsers } from '../storage/user-count.ts'

/** Carries the result out of a transaction that must roll back. */
class Rollback {
  constructor(readonly value: Distribution) {}
}

/**
 * Evaluates an unsaved definition and returns its distribution, storing nothing: the
 * values go to a temporary table inside a transaction that is always rolled back.
 * Exceeding timeoutMs (counted from `startedAt`, epoch ms, default now) gives
 * LabelsError('timeout'). The import method has no values to
 * preview: its distribution is empty.
 */
export async function previewDefinition(
  db: SqlExecutor,
  def: Definition,
  opts: { asOf?: string; tz: string; timeoutMs?: number; startedAt?: number; query?: DistributionQuery },
  compile: CompileFn,
): Promise<Distribution> {
  const q = resolveQuery(opts.query)
  const asOf = opts.asOf !== undefined ? parseAsOf(opts.asOf) : new Date()
  // The budget covers everything from here (compiling reads the catalogue; a connection may be awaited).
  const deadline = new Deadline(opts.timeoutMs, opts.startedAt)
  try {
    const source =
      def.rule.method === 'import'
        ? { sql: noValuesSql(def.dataType), params: [] }
        : await compile(def, { db, asOf, tz: opts.tz })
    deadline.check()
    await db.transaction(async (outer) => {
      const tx = deadline.bound(outer)
      await tx.query(
        `CREATE TEMP TABLE preview_res ON COMMIT DROP AS SELECT uid, value FROM (${source.sql}) AS src WHERE ${coveredFilter(def.dataType)}`,
        source.params,
      )
      deadline.check()
      const c = await tx.query<{ covered: number }>(`SELECT count(*)::int AS covered FROM preview_res`)
      const counts = { totalUsers: await countUsers(tx), coveredUsers: Number(c.rows[0]?.covered ?? 0) }
      const items = await distributionItems(tx, 'preview_res', def.dataType, q, opts.tz, counts)
      deadline.check()
      throw new Rollback({ labelId: null, runId: null, asOf: asOf.toISOString(), ...counts, items })
    })
  } catch (e) {
    if (e instanceof Rollback) return e.value
    if (isStatementTimeout(e) && opts.timeoutMs !== undefined) throw timeoutError(opts.timeoutMs)
    throw e
  }
  throw new Error('unreachable: preview transaction committed')
}
