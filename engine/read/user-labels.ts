import type { SqlExecutor } from '../sql-executor.ts'
import { outputValue } from '../calc/value-types.ts'
import { isVanishedTable, loadAllLabelStates, type LabelState } from './label-state.ts'

type UserLabel = { labelId: string; value: unknown; asOf: string }

/** The user's value in each label's results named by `states` (one statement, each table read by primary key). */
async function valuesOf(exec: SqlExecutor, states: LabelState[], uid: number): Promise<UserLabel[]> {
  if (states.length === 0) return []
  const sql = states
    .map((s, i) => `SELECT ${i}::int AS i, to_jsonb(value) AS v FROM ${s.table} WHERE uid = $1`)
    .join(' UNION ALL ')
  const r = await exec.query<{ i: number; v: unknown }>(sql, [uid])
  return r.rows
    .sort((a, b) => a.i - b.i)
    .map((x) => {
      const s = states[x.i] as LabelState
      return { labelId: s.labelId, value: outputValue(s.dataType, x.v), asOf: s.asOf }
    })
}

/**
 * Every label with a current result for the user (profile lookup, docs/api.md#profile-lookup), ordered by
 * label id. One statement over all result tables, each read by primary key; an unknown
 * user has no labels. As readCurrent does for one label: the read is kept when no pointer
 * moved meanwhile (a swap dropping a table, or a run writing in place), and after a few lost
 * races it is made holding every pointer FOR SHARE.
 */
export async function userLabels(db: SqlExecutor, userId: string): Promise<UserLabel[]> {
  const u = await db.query<{ uid: number }>(`SELECT uid FROM users WHERE user_id = $1`, [userId])
  const uid = u.rows[0]?.uid
  if (uid === undefined) return []
  for (let attempt = 0; attempt < 4; attempt++) {
    const states = await loadAllLabelStates(db)
    let out: UserLabel[]
    try {
      out = await valuesOf(db, states, uid)
    } catch (e) {
      if (!isVanishedTable(e)) throw e
      continue
    }
    const now = new Map((await loadAllLabelStates(db)).map((s) => [s.labelId, s.runId]))
    if (states.every((s) => now.get(s.labelId) === s.runId)) return out
  }
  return db.transaction(async (tx) => valuesOf(tx, await loadAllLabelStates(tx, true), uid))
}
