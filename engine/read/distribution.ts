import type { Distribution, DistributionQuery } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { distributionItems } from './distribution-items.ts'
import { resolveQuery } from './distribution-query.ts'
import { readCurrent } from './label-state.ts'
import type { DistributionCache } from './distribution-cache.ts'

/**
 * The distribution of a label's current results, or null when it has no successful run.
 * The buckets follow the data type of the stored results (a label whose type was edited
 * keeps its old results, in their old type, until its next run succeeds).
 */
export async function labelDistribution(
  db: SqlExecutor,
  labelId: string,
  query: DistributionQuery | undefined,
  cache?: DistributionCache,
): Promise<Distribution | null> {
  const q = resolveQuery(query)
  return readCurrent(db, labelId, async (s, exec) => {
    const key = `${labelId}\u0000${s.runId}\u0000${JSON.stringify(q)}`
    const hit = cache?.get(key)
    if (hit) return hit
    const d: Distribution = {
      labelId,
      runId: s.runId,
      asOf: s.asOf,
      totalUsers: s.totalUsers,
      coveredUsers: s.coveredUsers,
      items: await distributionItems(exec, s.table, s.dataType, q, s.tz, s),
    }
    cache?.set(key, d)
    return d
  })
}
