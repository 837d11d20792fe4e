import { describe } from 'vitest'
import { openPglite } from '../../engine/adapters/pglite.ts'
import { openPostgres } from '../../engine/adapters/pg.ts'
import type { SqlExecutor } from '../../engine/sql-executor.ts'

export type DbKind = 'pglite' | 'postgres'

const url = process.env.TEST_DATABASE_URL
let warned = false

/** The engines this run tests against: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function dbKinds(): DbKind[] {
  if (!url && !warned) {
    warned = true
    console.warn('[tests] TEST_DATABASE_URL is not set: PostgreSQL variants are skipped (CI sets it).')
  }
  return url ? ['pglite', 'postgres'] : ['pglite']
}

export interface TestDb extends SqlExecutor {
  dispose(): Promise<void>
}

/** A fresh, empty database: in-memory PGlite, or a throwaway schema on the test PostgreSQL. */
export async function newDb(kind: DbKind = 'pglite'): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await openPglite()
    return Object.assign(db, { dispose: () => db.close() })
  }
  if (!url) throw new Error('TEST_DATABASE_URL is not set')
  const schema = `t_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`
  const admin = await openPostgres(url, { max: 1 })
  await admin.exec(`CREATE SCHEMA ${schema}`)
  const db = await openPostgres(url, { schema, max: 4 })
  return Object.assign(db, {
    dispose: async () => {
      await db.close()
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`)
      await admin.close()
    },
  })
}

/** Runs a describe block once per available engine. */
export function describeEachDb(name: string, fn: (kind: DbKind) => void): void {
  for (const kind of dbKinds()) describe(`${name} [${kind}]`, () => fn(kind))
}
