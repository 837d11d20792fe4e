import { LabelsError } from '../../shared/errors.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { loadCatalogue, type ColumnRef, type ValueType } from '../storage/catalogue.ts'
import {
  addColumn,
  addEventIdUnique,
  addUidIndex,
  lockCatalogue,
  registerColumn,
  registerEvent,
} from '../storage/extend.ts'
import { columnLimitProblem } from '../storage/column-limits.ts'
import { storedUids } from '../storage/users.ts'
import { trackChanges } from '../storage/changes.ts'
import { addEventIdsKey, addEventIdsTable, oneConnectionPerWorker } from '../storage/citus.ts'
import type { TargetSummary } from './link.ts'
import type { StageTable } from './stage.ts'

/** One staged target and its staging table. */
export interface Staged {
  t: TargetSummary
  stage: StageTable
}

export interface CommitCounts {
  inserted: number
  updated: number
  duplicates: number
}

/** Maps each staging column p<i> to its catalogue column, creating the missing ones. */
async function resolveColumns(
  tx: SqlExecutor,
  owner: { event: string; table: string } | null,
  known: ReadonlyMap<string, ColumnRef>,
  t: TargetSummary,
): Promise<Array<{ stage: string; column: string }>> {
  const out: Array<{ stage: string; column: string }> = []
  let count = known.size
  for (const [name, i] of t.stageIdx) {
    const type = t.types[i] as ValueType
    let ref = known.get(name)
    if (ref && ref.type !== type) throw typeConflict(owner?.event ?? null, name, ref.type, type)
    // Each request checks the limit per row against the schema it opened with; requests
    // committing at once could pass it together, so it is checked again under the lock.
    const full = ref ? null : columnLimitProblem(owner?.event ?? null, name, count++)
    if (full)
      throw new LabelsError(
        'conflict',
        `${full} (another request added columns meanwhile); nothing was stored`,
        owner ? `/events/${owner.event}/${name}` : `/users/${name}`,
      )
    ref ??= await addColumn(tx, owner, name, type)
    out.push({ stage: `p${i}`, column: ref.column })
  }
  return out
}

/** Another request created the column with another type after this one started. */
function typeConflict(event: string | null, name: string, stored: ValueType, mine: ValueType): LabelsError {
  return new LabelsError(
    'conflict',
    `"${name}" was meanwhile stored as ${stored}, this request has ${mine}`,
    event !== null ? `/events/${event}/${name}` : `/users/${name}`,
  )
}

/**
 * Memory for this transaction only: with the default 4 MB the users upsert's merge and the
 * event_id index build spill to temp files, which made a 10M-event commit several times slower.
 */
async function bulkMemory(tx: SqlExecutor): Promise<void> {
  await tx.exec(`SET LOCAL work_mem = '128MB'; SET LOCAL maintenance_work_mem = '256MB'`)
  await oneConnectionPerWorker(tx) // Citus: DDL (new columns, renames, keys) mixes with the inserts
}

const num = (rows: Array<Record<string, unknown>>, key = 'n'): number => Number(rows[0]?.[key] ?? 0)

/** Upserts the staged users in one transaction: given attributes overwrite, absent ones stay. */
export async function commitUsers(db: SqlExecutor, staged: Staged | undefined): Promise<CommitCounts> {
  if (!staged) return { inserted: 0, updated: 0, duplicates: 0 }
  const { t } = staged
  const stg = staged.stage.table
  return db.transaction(async (tx) => {
    await lockCatalogue(tx)
    await bulkMemory(tx)
    const cat = await loadCatalogue(tx)
    const cols = await resolveColumns(tx, null, cat.users, t)
    const counts = await tx.query(
      tx.citus
        ? // users is distributed by uid: the stage's user_ids are sent to the workers and joined there
          `SELECT (SELECT count(*) FROM ${stg}) AS total, (SELECT count(DISTINCT user_id) FROM ${stg}) AS n,
                  (SELECT count(*) FROM users u JOIN (SELECT DISTINCT user_id FROM ${stg}) s ON u.user_id = s.user_id) AS updated`
        : `SELECT count(*) AS total, count(DISTINCT s.user_id) AS n,
              count(DISTINCT s.user_id) FILTER (WHERE EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.user_id)) AS updated
       FROM ${stg} s`,
    )
    const total = num(counts.rows, 'total'),
      distinct = num(counts.rows, 'n'),
      updated = num(counts.rows, 'updated')
    // A user repeated within the request merges in row order (later given values win), because
    // ON CONFLICT DO UPDATE may not touch one row twice in a statement.
    const source =
      total === distinct
        ? `SELECT user_id${cols.map((c) => `, ${c.stage}`).join('')} FROM ${stg}`
        : `SELECT user_id${cols.map((c) => `, (array_agg(${c.stage} ORDER BY row DESC) FILTER (WHERE ${c.stage} IS NOT NULL))[1] AS ${c.stage}`).join('')} FROM ${stg} GROUP BY user_id`
    const target = ['user_id', ...cols.map((c) => c.column)].join(', ')
    const onConflict =
      cols.length === 0
        ? 'DO NOTHING'
        : `DO UPDATE SET ${cols.map((c) => `${c.column} = COALESCE(EXCLUDED.${c.column}, users.${c.column})`).join(', ')}`
    // All new users: a plain INSERT (an upsert's speculative insertion cost 5.0 s against 3.2 s for
    // 1M users). Safe because the catalogue lock we hold serialises every insertion into users
    // (event ingestion adds its new users under the same lock).
    if (tx.citus) await citusUpsertUsers(tx, stg, source, target, cols, updated)
    else {
      const upsert = updated === 0 ? '' : ` ON CONFLICT (user_id) ${onConflict}`
      await tx.query(`INSERT INTO users (${target}) ${source}${upsert}`)
    }
    return { inserted: distinct - updated, updated, duplicates: 0 }
  })
}

/**
 * Citus: users has no unique key on user_id (a key must hold the distribution column uid), so
 * the upsert is an UPDATE of the stored users and an INSERT of the others. The catalogue lock
 * the caller holds serialises every insertion into users, so no user_id can appear between them.
 */
async function citusUpsertUsers(
  tx: SqlExecutor,
  stage: string,
  source: string,
  target: string,
  cols: ReadonlyArray<{ stage: string; column: string }>,
  updated: number,
): Promise<void> {
  if (updated > 0 && cols.length > 0)
    await tx.query(
      `UPDATE users SET ${cols.map((c) => `${c.column} = COALESCE(s.${c.stage}, users.${c.column})`).join(', ')}
       FROM (${source}) s WHERE users.user_id = s.user_id`,
    )
  // The stored ones are found by a join on the workers (the stage's ids are sent there), so only
  // they come back, never the whole users table.
  const fresh =
    updated === 0
      ? ''
      : ` WHERE s.user_id NOT IN (SELECT u.user_id FROM users u JOIN (SELECT DISTINCT user_id FROM ${stage}) x ON u.user_id = x.user_id)`
  await tx.query(`INSERT INTO users (${target}) SELECT * FROM (${source}) s${fresh}`)
}

/**
 * Appends the staged events in one transaction. Stages already hold final rows (seq, uid, time,
 * event_id, p<i>): a new event's stage becomes its table by renames (no second copy of its
 * rows), an existing event gets `INSERT … SELECT … ON CONFLICT DO NOTHING`, so event_ids
 * already stored or repeated in the request are skipped (the first in ingestion order stays).
 * `newUsers` are the users the request named that `users` lacked, with the uids reserved for them.
 */
export async function commitEvents(
  db: SqlExecutor,
  staged: Staged[],
  newUsers: ReadonlyMap<string, number>,
): Promise<CommitCounts> {
  return db.transaction(async (tx) => {
    await lockCatalogue(tx)
    await bulkMemory(tx)
    if (newUsers.size > 0) await storeNewUsers(tx, staged, newUsers)
    const cat = await loadCatalogue(tx)
    let inserted = 0
    let rows = 0
    for (const s of staged) {
      const info = cat.events.get(s.t.event)
      inserted += info ? await appendEvents(tx, s, info.table, info.properties) : await adoptStage(tx, s)
      rows += s.t.rows
    }
    return { inserted, updated: 0, duplicates: rows - inserted }
  })
}

/**
 * Inserts the request's new users with their reserved uids. A user another request stored
 * meanwhile keeps its uid, and this request's rows are moved over to it.
 */
async function storeNewUsers(tx: SqlExecutor, staged: Staged[], newUsers: ReadonlyMap<string, number>): Promise<void> {
  const ids = [...newUsers.keys()],
    uids = [...newUsers.values()]
  let lost: string[]
  if (tx.citus) {
    // No unique key on user_id there (see citusUpsertUsers); the catalogue lock we hold keeps
    // the look-up and the insert together.
    const taken = await storedUids(tx, ids)
    const keep = ids.flatMap((id, k) => (taken.has(id) ? [] : [k]))
    await tx.query(`INSERT INTO users (uid, user_id) SELECT * FROM unnest($1::int[], $2::text[])`, [
      keep.map((k) => uids[k]),
      keep.map((k) => ids[k]),
    ])
    if (taken.size === 0) return
    lost = [...taken.keys()]
  } else {
    const r = await tx.query<{ user_id: string }>(
      `INSERT INTO users (uid, user_id) SELECT * FROM unnest($1::int[], $2::text[]) ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
      [uids, ids],
    )
    if ((r.affectedRows ?? r.rows.length) === ids.length) return
    const stored = new Set(r.rows.map((x) => x.user_id))
    lost = ids.filter((id) => !stored.has(id))
  }
  const real = await tx.query<{ user_id: string; uid: number }>(
    `SELECT user_id, uid FROM users WHERE user_id = ANY($1::text[])`,
    [lost],
  )
  const from = real.rows.map((x) => newUsers.get(x.user_id) as number),
    to = real.rows.map((x) => x.uid)
  for (const s of staged) {
    if (tx.citus) {
      // Citus does not update a distribution column in place: the rows move to their new shard.
      const rest = ['seq', 'time', 'event_id', ...s.stage.types.map((_, i) => `p${i}`)]
      await tx.query(
        `INSERT INTO ${s.stage.table} (uid, ${rest.join(', ')}) SELECT m.uid, ${rest.map((c) => `e.${c}`).join(', ')}
         FROM ${s.stage.table} e JOIN unnest($1::int[], $2::int[]) AS m(tmp, uid) ON e.uid = m.tmp`,
        [from, to],
      )
      await tx.query(`DELETE FROM ${s.stage.table} WHERE uid = ANY($1::int[])`, [from])
      continue
    }
    await tx.query(
      `UPDATE ${s.stage.table} e SET uid = m.uid FROM unnest($1::int[], $2::int[]) AS m(tmp, uid) WHERE e.uid = m.tmp`,
      [from, to],
    )
  }
}

/** INSERT … SELECT of one stage into its existing event table, skipping event_ids already there. */
async function appendEvents(
  tx: SqlExecutor,
  s: Staged,
  table: string,
  known: ReadonlyMap<string, ColumnRef>,
): Promise<number> {
  if (!/^ev\d+$/.test(table)) throw new Error(`unexpected event table ${table}`)
  const cols = await resolveColumns(tx, { event: s.t.event, table }, known, s.t)
  const target = ['seq', 'uid', 'time', 'event_id', ...cols.map((c) => c.column)].join(', ')
  const select = ['seq', 'uid', 'time', 'event_id', ...cols.map((c) => c.stage)].join(', ')
  if (tx.citus) await citusDedupeEventIds(tx, s.stage.table, table)
  const r = await tx.query(
    `INSERT INTO ${table} (${target}) SELECT ${select} FROM ${s.stage.table} ORDER BY seq ON CONFLICT DO NOTHING`,
  )
  return r.affectedRows ?? 0
}

/**
 * A new event: its stage (already shaped like an event table) is registered and renamed into
 * place, its p<i> columns renamed to their catalogue names; then the event_id constraint is
 * built once. Returns the rows kept.
 */
async function adoptStage(tx: SqlExecutor, s: Staged): Promise<number> {
  const table = await registerEvent(tx, s.t.event)
  if (!/^ev\d+$/.test(table)) throw new Error(`unexpected event table ${table}`)
  await tx.exec(`ALTER TABLE ${s.stage.table} RENAME TO ${table}`)
  for (const [name, i] of s.t.stageIdx) {
    const ref = await registerColumn(tx, s.t.event, name, s.t.types[i] as ValueType)
    await tx.exec(`ALTER TABLE ${table} RENAME COLUMN p${i} TO ${ref.column}`)
  }
  s.stage.adopted()
  if (tx.citus) {
    // A new table of ids too, filled without its key, which is then built once (addEventIdsKey).
    // Nothing is stored yet, so the ids go straight from the stage; only if the request repeated
    // one (rare) are they taken again through the repeat check (citusDedupeEventIds).
    await addEventIdsTable(tx, table, { key: false })
    await tx.exec(`INSERT INTO ${table}_ids SELECT event_id FROM ${table} WHERE event_id IS NOT NULL`)
    const repeats = await tx.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${table}_ids GROUP BY event_id HAVING count(*) > 1) AS any`,
    )
    let removed = 0
    if (repeats.rows[0]?.any) {
      await tx.exec(`DELETE FROM ${table}_ids`)
      removed = await citusDedupeEventIds(tx, table, table, false)
    }
    await addEventIdsKey(tx, table)
    await addEventIdUnique(tx, table)
    return s.t.rows - removed
  }
  const removed = await uniqueEventIds(tx, table)
  await addUidIndex(tx, table) // built once over the loaded rows, like the event_id key (by time: extend.ts addTimeIndexes)
  await trackChanges(tx, table) // from now on (storage/changes.ts: no run has read this event yet)
  return s.t.rows - removed
}

/**
 * Citus: removes from the staged rows `stage` those whose event_id is stored already (any user)
 * or repeats an earlier one of the request (lower seq), and records the others in
 * `<table>_ids`. The staged ids are moved once to the workers holding them (event_ids_in is
 * distributed by event_id, like <table>_ids), where both checks run; only the seqs of the rows
 * removed come back. Returns how many.
 */
async function citusDedupeEventIds(tx: SqlExecutor, stage: string, table: string, stored = true): Promise<number> {
  await tx.exec(
    `INSERT INTO event_ids_in (event_id, seq) SELECT event_id, seq FROM ${stage} WHERE event_id IS NOT NULL`,
  )
  const storedCheck = stored ? `EXISTS (SELECT 1 FROM ${table}_ids i WHERE i.event_id = n.event_id) OR ` : ''
  const r = await tx.query<{ seq: string }>(
    `SELECT n.seq::text AS seq FROM event_ids_in n
     WHERE ${storedCheck}EXISTS (SELECT 1 FROM event_ids_in m WHERE m.event_id = n.event_id AND m.seq < n.seq)`,
  )
  const seqs = r.rows.map((x) => x.seq)
  if (seqs.length > 0) await tx.query(`DELETE FROM ${stage} WHERE seq = ANY($1::bigint[])`, [seqs])
  // `stored`: ids may be there already (skipped); else the table is new, empty and without its key yet.
  await tx.exec(
    `INSERT INTO ${table}_ids SELECT DISTINCT event_id FROM event_ids_in${stored ? ' ON CONFLICT DO NOTHING' : ''}`,
  )
  await tx.exec(`DELETE FROM event_ids_in`)
  return seqs.length
}

/**
 * Adds the event_id UNIQUE constraint to a freshly loaded table. If the request repeated an
 * event_id the build fails: then only the first occurrence in ingestion order (lowest seq) is
 * kept, as appending row by row with ON CONFLICT DO NOTHING would. Returns the rows removed.
 */
async function uniqueEventIds(tx: SqlExecutor, table: string): Promise<number> {
  await tx.exec('SAVEPOINT event_id_index')
  try {
    await addEventIdUnique(tx, table)
    await tx.exec('RELEASE SAVEPOINT event_id_index')
    return 0
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e // only a repeated event_id is expected here
    await tx.exec('ROLLBACK TO SAVEPOINT event_id_index')
  }
  const sameUser = tx.citus ? ' AND a.uid = b.uid' : '' // Citus: the key is (uid, event_id)
  const r = await tx.query(
    `DELETE FROM ${table} a USING ${table} b WHERE a.event_id = b.event_id${sameUser} AND a.seq > b.seq`,
  )
  await tx.exec('RELEASE SAVEPOINT event_id_index')
  await addEventIdUnique(tx, table)
  return r.affectedRows ?? 0
}
