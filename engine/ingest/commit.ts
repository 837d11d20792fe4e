import { LabelsError } from '../../shared/errors.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { loadCatalogue, type ColumnRef, type ValueType } from '../storage/catalogue.ts'
import { addColumn, addEvent, addEventIdUnique, lockCatalogue } from '../storage/extend.ts'
import type { Stage } from './stage.ts'

/** What a session staged for one target: users ('' event) or one event name. */
export interface StagedTarget {
  event: string
  /** Columns this request saw first, with their inferred types. */
  fresh: Map<string, ValueType>
  /** Attribute/property name → staging column index (p<i>). */
  stageIdx: Map<string, number>
  stage: Stage
}

export interface CommitCounts { inserted: number; updated: number; duplicates: number }

/** Maps each staging column p<i> to its catalogue column, creating the missing ones. */
async function resolveColumns(
  tx: SqlExecutor,
  owner: { event: string; table: string } | null,
  known: ReadonlyMap<string, ColumnRef>,
  t: StagedTarget,
): Promise<Array<{ stage: string; column: string }>> {
  const out: Array<{ stage: string; column: string }> = []
  for (const [name, i] of t.stageIdx) {
    const type = t.stage.types[i] as ValueType
    let ref = known.get(name)
    if (ref && ref.type !== type) {
      // Another request created it with another type after this one started.
      throw new LabelsError('conflict', `"${name}" was meanwhile stored as ${ref.type}, this request has ${type}`, owner ? `/events/${owner.event}/${name}` : `/users/${name}`)
    }
    ref ??= await addColumn(tx, owner, name, type)
    out.push({ stage: `p${i}`, column: ref.column })
  }
  return out
}

/**
 * Memory for this transaction only: with the default 4 MB the user_id → uid hash join and the
 * event_id index build spill to temp files, which made a 10M-event commit several times slower.
 */
async function bulkMemory(tx: SqlExecutor): Promise<void> {
  await tx.exec(`SET LOCAL work_mem = '128MB'; SET LOCAL maintenance_work_mem = '256MB'`)
}

const num = (rows: Array<Record<string, unknown>>, key = 'n'): number => Number(rows[0]?.[key] ?? 0)

/** Upserts the staged users in one transaction: given attributes overwrite, absent ones stay. */
export async function commitUsers(db: SqlExecutor, targets: StagedTarget[]): Promise<CommitCounts> {
  const t = targets[0]
  if (!t) return { inserted: 0, updated: 0, duplicates: 0 }
  const stg = t.stage.table
  return db.transaction(async (tx) => {
    await lockCatalogue(tx)
    await bulkMemory(tx)
    const cat = await loadCatalogue(tx)
    const cols = await resolveColumns(tx, null, cat.users, t)
    const counts = await tx.query(
      `SELECT count(*) AS total, count(DISTINCT s.user_id) AS n,
              count(DISTINCT s.user_id) FILTER (WHERE EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.user_id)) AS updated
       FROM ${stg} s`,
    )
    const total = num(counts.rows, 'total'), distinct = num(counts.rows, 'n'), updated = num(counts.rows, 'updated')
    // A user repeated within the request merges in row order (later given values win), because
    // ON CONFLICT DO UPDATE may not touch one row twice in a statement.
    const source = total === distinct
      ? `SELECT user_id${cols.map((c) => `, ${c.stage}`).join('')} FROM ${stg}`
      : `SELECT user_id${cols.map((c) => `, (array_agg(${c.stage} ORDER BY row DESC) FILTER (WHERE ${c.stage} IS NOT NULL))[1] AS ${c.stage}`).join('')} FROM ${stg} GROUP BY user_id`
    const target = ['user_id', ...cols.map((c) => c.column)].join(', ')
    const onConflict = cols.length === 0 ? 'DO NOTHING'
      : `DO UPDATE SET ${cols.map((c) => `${c.column} = COALESCE(EXCLUDED.${c.column}, users.${c.column})`).join(', ')}`
    // All new users: a plain INSERT (an upsert's speculative insertion cost 5.0 s against 3.2 s for
    // 1M users). Safe because only ingestion inserts users, always under the catalogue lock we hold.
    const upsert = updated === 0 ? '' : ` ON CONFLICT (user_id) ${onConflict}`
    await tx.query(`INSERT INTO users (${target}) ${source}${upsert}`)
    return { inserted: distinct - updated, updated, duplicates: 0 }
  })
}

/** Appends the staged events in one transaction; event_ids already stored (or repeated) are skipped. */
export async function commitEvents(db: SqlExecutor, targets: StagedTarget[]): Promise<CommitCounts> {
  return db.transaction(async (tx) => {
    await lockCatalogue(tx)
    await bulkMemory(tx)
    const cat = await loadCatalogue(tx)
    const plans: EventPlan[] = []
    for (const t of targets) {
      const info = cat.events.get(t.event)
      const table = info?.table ?? (await addEvent(tx, t.event, { deferUnique: true }))
      if (!/^ev\d+$/.test(table)) throw new Error(`unexpected event table ${table}`)
      const cols = await resolveColumns(tx, { event: t.event, table }, info?.properties ?? new Map(), t)
      plans.push({ t, table, fresh: !info, cols })
    }
    // A bulk load into new tables only (the usual first import) loads first: when every user
    // already exists, the missing-users anti-join (0.3 s per 1M events) is skipped altogether.
    const allFresh = plans.every((p) => p.fresh)
    if (!allFresh) await insertMissingUsers(tx, plans)
    // Row numbers are unique across the request, so base + row keeps ingestion order in
    // `seq` across all event tables without sorting; the catalogue lock makes the range ours alone.
    const base = num((await tx.query(`SELECT nextval('event_seq') AS n`)).rows)
    const maxRow = Math.max(...plans.map((p) => p.t.stage.maxRow))
    const loaded = new Map<EventPlan, number>()
    for (const plan of plans) if (plan.fresh) loaded.set(plan, await loadNewTable(tx, plan, base, null))
    const short = plans.filter((p) => p.fresh && (loaded.get(p) ?? 0) < p.t.stage.rows)
    if (allFresh && short.length > 0) {
      // Rows of users not stored yet: add those users, then load just their rows. Only ingestion
      // inserts users (under the lock we hold) and uids only grow, so they are the uids above maxUid.
      const maxUid = num((await tx.query('SELECT coalesce(max(uid), 0) AS n FROM users')).rows)
      await insertMissingUsers(tx, plans)
      for (const plan of short) loaded.set(plan, (loaded.get(plan) ?? 0) + (await loadNewTable(tx, plan, base, maxUid)))
    }
    let inserted = 0
    let staged = 0
    for (const plan of plans) {
      inserted += plan.fresh ? (loaded.get(plan) ?? 0) - (await uniqueEventIds(tx, plan.table)) : await insertEvents(tx, plan, base)
      staged += plan.t.stage.rows
    }
    await tx.query(`SELECT setval('event_seq', $1::bigint)`, [base + maxRow])
    return { inserted, updated: 0, duplicates: staged - inserted }
  })
}

interface EventPlan { t: StagedTarget; table: string; fresh: boolean; cols: Array<{ stage: string; column: string }> }

/** INSERT … SELECT of one staged event into its table, skipping event_ids already there. */
async function insertEvents(tx: SqlExecutor, plan: EventPlan, base: number): Promise<number> {
  const r = await tx.query(`${copyStagedSql(plan)} ON CONFLICT DO NOTHING`, [base])
  return r.affectedRows ?? 0
}

/** INSERT … SELECT copying one stage into its event table (`$1` = seq base), joined to users for the uid. */
function copyStagedSql({ t, table, cols }: EventPlan): string {
  const target = ['seq', 'uid', 'time', 'event_id', ...cols.map((c) => c.column)].join(', ')
  const select = ['$1::bigint + s.row', 'u.uid', 's.time', 's.event_id', ...cols.map((c) => `s.${c.stage}`)].join(', ')
  return `INSERT INTO ${table} (${target}) SELECT ${select} FROM ${t.stage.table} s JOIN users u ON u.user_id = s.user_id`
}

/** Stores the users the stages name but `users` lacks (user_id only), in one statement so `users` is hashed once. */
async function insertMissingUsers(tx: SqlExecutor, plans: EventPlan[]): Promise<void> {
  const userIds = plans.map(({ t }) => `SELECT user_id FROM ${t.stage.table}`).join(' UNION ALL ')
  await tx.query(
    `INSERT INTO users (user_id) SELECT DISTINCT s.user_id FROM (${userIds}) s
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.user_id) ON CONFLICT (user_id) DO NOTHING`,
  )
}

/**
 * Loads staged rows into a table this request created, still without its event_id index (one
 * build afterwards is about twice as fast as per-row maintenance); with `aboveUid`, only the rows
 * of users whose uid is above it. Returns the rows loaded.
 */
async function loadNewTable(tx: SqlExecutor, plan: EventPlan, base: number, aboveUid: number | null): Promise<number> {
  const r = await tx.query(
    aboveUid === null ? copyStagedSql(plan) : `${copyStagedSql(plan)} WHERE u.uid > $2`,
    aboveUid === null ? [base] : [base, aboveUid],
  )
  return r.affectedRows ?? 0
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
  const r = await tx.query(`DELETE FROM ${table} a USING ${table} b WHERE a.event_id = b.event_id AND a.seq > b.seq`)
  await tx.exec('RELEASE SAVEPOINT event_id_index')
  await addEventIdUnique(tx, table)
  return r.affectedRows ?? 0
}
