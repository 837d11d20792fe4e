import type { Distribution, DistributionQuery } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { distributionItems } from './distribution-items.ts'
import { resolveQuery } from './distribution-query.ts'
import { loadLabelState, readCurrent } from './label-state.ts'
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
  const keyOf = (runId: string) => `${labelId}\u0000${runId}\u0000${JSON.stringify(q)}`
  // A cache hit costs one pointer read: the cache holds only reads readCurrent kept (checked
  // against the pointer after reading), so it needs no second look at the pointer.
  if (cache) {
    const s = await loadLabelState(db, labelId)
    if (!s) return null
    const hit = cache.get(keyOf(s.runId))
    if (hit) return hit
  }
  const d = await readCurrent(
    db,
    labelId,
    async (s, exec): Promise<Distribution> => ({
      labelId,
      runId: s.runId,
      asOf: s.asOf,
      totalUsers: s.totalUsers,
      coveredUsers: s.coveredUsers,
      items: await distributionItems(exec, s.table, s.dataType, q, s.tz, s),
    }),
  )
  if (d?.runId) cache?.set(keyOf(d.runId), d)
  return d
}
