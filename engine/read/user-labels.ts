import type { SqlExecutor } from '../sql-executor.ts'
import { outputValue } from '../calc/value-types.ts'
import { isVanishedTable, loadAllLabelStates } from './label-state.ts'

/**
 * Every label with a current result for the user (profile lookup, docs/api.md#profile-lookup), ordered by
 * label id. One statement over all result tables, each read by primary key; an unknown
 * user has no labels.
 */
export async function userLabels(
  db: SqlExecutor,
  userId: string,
): Promise<Array<{ labelId: string; value: unknown; asOf: string }>> {
  const u = await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id = $1`, [userId])
  const uid = u.rows[0]?.uid
  if (uid === undefined) return []
  for (let attempt = 0; ; attempt++) {
    const states = await loadAllLabelStates(db)
    if (states.length === 0) return []
    const sql = states
      .map((s, i) => `SELECT ${i}::int AS i, to_jsonb(value) AS v FROM ${s.table} WHERE uid = $1`)
      .join(' UNION ALL ')
    try {
      const r = await db.query<{ i: number; v: unknown }>(sql, [uid])
      return r.rows
        .sort((a, b) => a.i - b.i)
        .map((x) => {
          const s = states[x.i] as (typeof states)[number]
          return { labelId: s.labelId, value: outputValue(s.dataType, x.v), asOf: s.asOf }
        })
    } catch (e) {
      // A swap dropped a table between reading the pointers and reading the values.
      if (attempt >= 4 || !isVanishedTable(e)) throw e
    }
  }
}
