import { expect } from 'vitest'
import type { Definition, ImportReport } from '../../../engine/api.ts'
import type { CompileFn } from '../../../engine/calc/execute-run.ts'
import { ingestUserRecords } from '../../../engine/ingest/index.ts'
import { EngineService, type EngineServiceOptions } from '../../../engine/service.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import { newDb, type DbKind, type TestDb } from '../../helpers/db.ts'

export interface Fixture {
  db: TestDb
  svc: EngineService
  dispose(): Promise<void>
}

/** A migrated EngineService over a fresh database; `compile` replaces the rule compiler. */
export async function newService(kind: DbKind, compile?: CompileFn, more: EngineServiceOptions = {}): Promise<Fixture> {
  const db = await newDb(kind)
  const svc = new EngineService(db, { ...more, ...(compile ? { compile } : {}) })
  await svc.migrate()
  return { db, svc, dispose: () => db.dispose() }
}

/** Stores users u1..un (user_id only, plus an `n` attribute = index). */
export async function addUsers(db: TestDb, n: number, prefix = 'u'): Promise<void> {
  const records = Array.from({ length: n }, (_, i) => ({ user_id: `${prefix}${i + 1}`, properties: { n: i + 1 } }))
  const r = await ingestUserRecords(db, records)
  expect(r.committed).toBe(true)
}

/** An import-method definition of the data type. */
export const importDef = (dataType: DataType): Definition => ({ dataType, rule: { method: 'import' } })

/** Imports `user_id,value` rows into a label and checks it committed. */
export async function importRows(
  svc: EngineService,
  labelId: string,
  dataType: DataType,
  rows: Array<[string, string]>,
  opts: { mode?: 'replace' | 'merge'; tz?: string } = {},
): Promise<ImportReport> {
  const csv = 'user_id,value\n' + rows.map(([u, v]) => `${u},${csvQuote(v)}`).join('\n') + '\n'
  const r = await svc.importValues({
    labelId,
    dataType,
    csv,
    mode: opts.mode ?? 'replace',
    tz: opts.tz ?? 'UTC',
    definition: importDef(dataType),
  })
  expect(r.errors).toEqual([])
  expect(r.committed).toBe(true)
  return r
}

const csvQuote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)

/** A compile stand-in: every definition becomes this SQL (uid, value) over `users`. */
export const fixedSql =
  (sql: string, params: unknown[] = []): CompileFn =>
  async () => ({ sql, params })

/** Names of result tables present in the database (to prove swaps drop the old one). */
export async function resultTables(db: TestDb): Promise<string[]> {
  const r = await db.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'res\\_%' ORDER BY 1`,
  )
  return r.rows.map((x) => x.t)
}
