import { describe } from 'vitest'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { ENGINE_PG_SETTINGS, openPostgres, parsePgSettings } from '../../engine/adapters/pg.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'

/** PGlite, one PostgreSQL, or a Citus coordinator (customer tables distributed over its workers). */
export type DbKind = 'pglite' | 'postgres' | 'citus'

const url = process.env.TEST_DATABASE_URL
/** The coordinator of a Citus cluster (scripts/citus-cluster.sh prints it; CI sets it). */
export const citusUrl = process.env.TEST_CITUS_URL
const warned = new Set<string>()
const warn = (msg: string) => {
  if (warned.has(msg)) return
  warned.add(msg)
  console.warn(msg)
}

/**
 * The engines this run tests against. By default PGlite, and PostgreSQL when TEST_DATABASE_URL is
 * set. TEST_DB_KINDS (comma-separated, e.g. `citus`) picks them instead: CI runs the engine
 * suites a second time with TEST_DB_KINDS=citus rather than adding Citus to every
 * describeEachDb, which keeps the time it adds to the suites that exercise the engine.
 */
export function dbKinds(): DbKind[] {
  const asked = process.env.TEST_DB_KINDS
  if (asked) {
    const kinds = asked.split(',').map((k) => k.trim()) as DbKind[]
    for (const k of kinds) if (!['pglite', 'postgres', 'citus'].includes(k)) throw new Error(`TEST_DB_KINDS: ${k}?`)
    return kinds.filter((k) => {
      if (k === 'citus' && !citusUrl) {
        warn('[tests] TEST_CITUS_URL is not set: Citus variants are skipped (scripts/citus-cluster.sh starts one).')
        return false
      }
      if (k === 'postgres' && !url) {
        warn('[tests] TEST_DATABASE_URL is not set: PostgreSQL variants are skipped (CI sets it).')
        return false
      }
      return true
    })
  }
  if (!url) warn('[tests] TEST_DATABASE_URL is not set: PostgreSQL variants are skipped (CI sets it).')
  return url ? ['pglite', 'postgres'] : ['pglite']
}

export interface TestDb extends SqlExecutor {
  dispose(): Promise<void>
}

/**
 * A fresh, empty database: in-memory PGlite, or a throwaway schema on the test PostgreSQL or on
 * the Citus coordinator (Citus propagates the schema, and the distributed tables' shards live in
 * it on the workers; dropping it drops them).
 */
export async function newDb(kind: DbKind = 'pglite'): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await openPglite()
    return Object.assign(db, { dispose: () => db.close() })
  }
  const target = kind === 'citus' ? citusUrl : url
  if (!target) throw new Error(kind === 'citus' ? 'TEST_CITUS_URL is not set' : 'TEST_DATABASE_URL is not set')
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`
  const admin = await openPostgres(target, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  // The engine's connection settings, as the server opens them.
  const db = await openPostgres(target, { schema, max: 4, settings: parsePgSettings(ENGINE_PG_SETTINGS) })
  if (kind === 'citus' && !db.citus) throw new Error('TEST_CITUS_URL names a database without the citus extension')
  return Object.assign(db, {
    dispose: async () => {
      await db.close()
      if (kind !== 'citus') {
        await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
        await admin.close()
        return
      }
      // On Citus a session keeps its connections to the workers: after a test stopped and restarted
      // a worker (tests/engine/citus), the old session fails ("failure on connection marked as
      // essential"). Drop from a fresh session, retried while the worker comes back.
      await admin.close()
      for (let attempt = 1; ; attempt++) {
        const dropper = await openPostgres(target, { max: 1 })
        try {
          await dropper.exec(`DROP SCHEMA ${schema} CASCADE`)
          return
        } catch (e) {
          if (attempt >= 5) throw e
          await new Promise((r) => setTimeout(r, 1000 * attempt))
        } finally {
          await dropper.close()
        }
      }
    },
  })
}

/** Runs a describe block once per available engine. */
export function describeEachDb(name: string, fn: (kind: DbKind) => void): void {
  for (const kind of dbKinds()) describe(`${name} [${kind}]`, () => fn(kind))
}

/** A node of `EXPLAIN (FORMAT JSON)`'s plan, with the fields tests read. */
export interface PlanNode {
  'Node Type': string
  'Plan Rows': number
  'Actual Loops'?: number
  Plans?: PlanNode[]
}

/**
 * The plan of `sql` as `EXPLAIN (FORMAT JSON)` gives it (`analyze`: run, with actual rows and
 * loops), its top node; PGlite hands the JSON as text, pg as parsed.
 */
export async function explainJson(
  db: SqlExecutor,
  sql: string,
  params: unknown[] = [],
  opts: { analyze?: boolean } = {},
): Promise<PlanNode> {
  const r = await db.query<{ 'QUERY PLAN': unknown }>(
    `EXPLAIN (${opts.analyze ? 'ANALYZE, ' : ''}FORMAT JSON) ${sql}`,
    params,
  )
  const raw = r.rows[0]?.['QUERY PLAN']
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: PlanNode }>
  return plan[0]?.Plan as PlanNode
}
