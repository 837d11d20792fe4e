import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'

/** The pointer to a label's current complete results (see engine/calc/ddl.ts). */
export interface LabelState {
  labelId: string
  runId: string
  table: string
  dataType: DataType
  asOf: string
  tz: string
  totalUsers: number
  coveredUsers: number
}

interface StateRow {
  label_id: string
  run_id: string
  result_table: string
  data_type: DataType
  as_of: Date | string
  tz: string
  total_users: number
  covered_users: number
}

/** The only shape of result table name the engine generates (names are interpolated into SQL). */
export const resultTableRe = /^res_\d+$/

function toState(r: StateRow): LabelState {
  // The name is interpolated into SQL: trust only the shape the engine itself generates.
  if (!resultTableRe.test(r.result_table)) throw new Error(`corrupt result table name ${r.result_table}`)
  return {
    labelId: r.label_id,
    runId: r.run_id,
    table: r.result_table,
    dataType: r.data_type,
    asOf: (r.as_of instanceof Date ? r.as_of : new Date(r.as_of)).toISOString(),
    tz: r.tz,
    totalUsers: r.total_users,
    coveredUsers: r.covered_users,
  }
}

const stateColumns = 'label_id, run_id, result_table, data_type, as_of, tz, total_users, covered_users'

/**
 * The label's current results pointer, or null when it has no successful run. `lock` (inside
 * a transaction) takes FOR SHARE on the pointer: a swap (FOR UPDATE) waits until the caller's
 * transaction ends, so the table it names can't be dropped under it.
 */
export async function loadLabelState(db: SqlExecutor, labelId: string, lock = false): Promise<LabelState | null> {
  const r = await db.query<StateRow>(
    `SELECT ${stateColumns} FROM label_state WHERE label_id = $1${lock ? ' FOR SHARE' : ''}`,
    [labelId],
  )
  return r.rows[0] ? toState(r.rows[0]) : null
}

/** Every label's current results pointer; `lock` as for loadLabelState. */
export async function loadAllLabelStates(db: SqlExecutor, lock = false): Promise<LabelState[]> {
  const r = await db.query<StateRow>(
    `SELECT ${stateColumns} FROM label_state ORDER BY label_id${lock ? ' FOR SHARE' : ''}`,
  )
  return r.rows.map(toState)
}

/** True when a query lost the race with a swap that dropped the table it resolved. */
export function isVanishedTable(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined
  const msg = e instanceof Error ? e.message : ''
  return code === '42P01' || /could not open relation with OID/.test(msg)
}

/** How many times a reader resolves the pointer again before it reads under the pointer's lock. */
const optimisticAttempts = 4

/**
 * Resolves the label's results and reads them, through `exec` (the database, or on the last
 * attempt a transaction holding the pointer FOR SHARE), so callers always see one complete
 * result set, the one the state they get names. A run either swaps in a new table (the old
 * one is dropped: a reader that resolved the pointer just before finds it gone) or writes
 * only what changed into the same table (a reader may then have read the new run's rows
 * under the old pointer): either way the reader resolves the pointer again and reads the new
 * results. A read is kept only if the pointer still names the same run afterwards (a run's
 * rows and pointer commit together, so unchanged pointer after the read means the read saw
 * that run's rows). After a few lost races the read holds the pointer FOR SHARE, which makes
 * the run wait.
 */
export async function readCurrent<T>(
  db: SqlExecutor,
  labelId: string,
  read: (state: LabelState, exec: SqlExecutor) => Promise<T>,
): Promise<T | null> {
  for (let attempt = 0; attempt < optimisticAttempts; attempt++) {
    const state = await loadLabelState(db, labelId)
    if (!state) return null
    let out: T
    try {
      out = await read(state, db)
    } catch (e) {
      if (!isVanishedTable(e)) throw e
      continue
    }
    if ((await loadLabelState(db, labelId))?.runId === state.runId) return out
  }
  return db.transaction(async (tx) => {
    const state = await loadLabelState(tx, labelId, true)
    return state ? read(state, tx) : null
  })
}
