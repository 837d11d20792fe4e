import type { SqlExecutor } from '../sql-executor.ts'

/**
 * The uids of those of `userIds` that are stored (unknown ones are absent from the map), in one
 * statement. It answers two arrays in one row: ~3× faster on PGlite than a row object per user
 * (1.0 vs 3.1 µs per id).
 */
export async function storedUids(db: SqlExecutor, userIds: readonly string[]): Promise<Map<string, number>> {
  const r = await db.query<{ ids: string[] | null; uids: number[] | null }>(
    `SELECT array_agg(user_id) AS ids, array_agg(uid) AS uids FROM users WHERE user_id = ANY($1::text[])`,
    [userIds],
  )
  const ids = r.rows[0]?.ids ?? [],
    uids = r.rows[0]?.uids ?? []
  const out = new Map<string, number>()
  for (let k = 0; k < ids.length; k++) out.set(ids[k] as string, uids[k] as number)
  return out
}
