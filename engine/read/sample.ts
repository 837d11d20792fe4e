import { badRequest } from '../../shared/errors.ts'
import type { Sample, SampleEvent, SampleUser, SampleValue } from '../api.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { describeSchema, loadCatalogue, type ColumnRef } from '../storage/catalogue.ts'
import { countUsers } from '../storage/user-count.ts'

/** Users in a sample unless asked otherwise, and the most one request may take. */
export const SAMPLE_DEFAULT_USERS = 2000
export const SAMPLE_MAX_USERS = 20_000

/**
 * A deterministic pseudo-random sample of customers with everything the engine knows about
 * them: the users ranked by md5(seed || user_id) (the same on PGlite and PostgreSQL, stable
 * while users are added), their attributes, and every one of their events across all `ev<N>`
 * tables in ingestion (`seq`) order, so re-ingesting it keeps first/last tie-breaks.
 * Values are JSON types, dates ISO strings; absent (null) values are left out. One
 * REPEATABLE READ transaction, so a concurrent ingestion never splits the picture.
 */
export async function readSample(db: SqlExecutor, opts: { users?: number; seed?: number }): Promise<Sample> {
  const n = opts.users ?? SAMPLE_DEFAULT_USERS
  if (!Number.isInteger(n) || n < 1 || n > SAMPLE_MAX_USERS)
    throw badRequest(`users must be an integer from 1 to ${SAMPLE_MAX_USERS}, got ${n}`, '/users')
  const seed = opts.seed ?? 1
  if (!Number.isSafeInteger(seed)) throw badRequest(`seed must be an integer, got ${seed}`, '/seed')
  return db.transaction(async (tx) => {
    await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ')
    const cat = await loadCatalogue(tx)
    const total = await countUsers(tx)
    const { users, uids, ids } = await sampleUsers(tx, [...cat.users.values()], n, String(seed))
    const perEvent: Array<Array<{ seq: bigint; ev: SampleEvent }>> = []
    for (const e of cat.events.values())
      perEvent.push(await sampleEvents(tx, e.name, e.table, [...e.properties.values()], uids, ids))
    return { users, events: mergeBySeq(perEvent), totalUsers: total, schema: describeSchema(cat) }
  })
}

/** JSON form of a stored value: Date → ISO string (timestamptz), everything else as read. */
function jsonValue(v: unknown): SampleValue {
  return v instanceof Date ? v.toISOString() : (v as SampleValue)
}

/** The non-null typed columns of one row as a name → value object. */
function properties(row: Record<string, unknown>, cols: ColumnRef[]): Record<string, SampleValue> {
  // Null prototype: an attribute named `__proto__` is an own property, not the object's prototype.
  const out = Object.create(null) as Record<string, SampleValue>
  for (const c of cols) {
    const v = row[c.column]
    if (v !== null && v !== undefined) out[c.name] = jsonValue(v)
  }
  return out
}

/** Column list of a select; every name is a catalogue `c<N>`. */
const columnList = (alias: string, cols: ColumnRef[]) => cols.map((c) => `, ${alias}.${c.column}`).join('')

async function sampleUsers(tx: SqlExecutor, cols: ColumnRef[], n: number, seed: string) {
  // Rank by hash, then read the winners in uid (= first-ingestion) order.
  const r = await tx.query<Record<string, unknown> & { uid: number; user_id: string }>(
    `SELECT u.uid, u.user_id${columnList('u', cols)}
       FROM users u
       JOIN (SELECT uid FROM users ORDER BY md5($1 || user_id), user_id LIMIT $2) s ON s.uid = u.uid
      ORDER BY u.uid`,
    [seed, n],
  )
  const users: SampleUser[] = []
  const uids: number[] = []
  const ids = new Map<number, string>()
  for (const row of r.rows) {
    users.push({ user_id: row.user_id, properties: properties(row, cols) })
    uids.push(row.uid)
    ids.set(row.uid, row.user_id)
  }
  return { users, uids, ids }
}

async function sampleEvents(
  tx: SqlExecutor,
  event: string,
  table: string,
  cols: ColumnRef[],
  uids: number[],
  ids: Map<number, string>,
) {
  if (uids.length === 0) return []
  // A hash join on the unnested uids: `uid = ANY($1)` would test the whole array per row.
  const r = await tx.query<Record<string, unknown> & { seq: string; uid: number; time: Date; event_id: string | null }>(
    `SELECT e.seq::text AS seq, e.uid, e.time, e.event_id${columnList('e', cols)}
       FROM ${table} e JOIN unnest($1::int[]) AS s(uid) ON s.uid = e.uid
      ORDER BY e.seq`,
    [uids],
  )
  return r.rows.map((row) => {
    const user_id = ids.get(row.uid) as string
    const time = jsonValue(row.time) as string
    const props = properties(row, cols)
    const ev: SampleEvent =
      row.event_id === null
        ? { user_id, event, time, properties: props }
        : { user_id, event, time, event_id: row.event_id, properties: props }
    return { seq: BigInt(row.seq), ev } // seqs pass 2^53 (ticket << 32 | row): compared exactly
  })
}

/** Merges the per-table lists (each sorted by seq) into one ingestion-ordered list. */
function mergeBySeq(lists: Array<Array<{ seq: bigint; ev: SampleEvent }>>): SampleEvent[] {
  const all = lists.flat()
  all.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0))
  return all.map((x) => x.ev)
}
