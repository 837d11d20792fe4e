import { parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { openPglite } from '../engine/adapters/pglite.ts'
import { ENGINE_PG_SETTINGS, openPostgres, parsePgSettings } from '../engine/adapters/pg.ts'
import { loadDemo } from '../engine/demo/index.ts'
import { EngineService } from '../engine/service.ts'
import type { ResultWrites } from '../engine/calc/result-swap.ts'
import type { Incremental } from '../engine/calc/incremental.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'
import { registerErrorTransport } from '../shared/worker-errors.ts'

export interface EngineWorkerData {
  dataDir?: string | undefined
  databaseUrl?: string | undefined
  schema?: string | undefined
  /** How runs write their results (LABELS_RESULT_WRITES). */
  resultWrites?: ResultWrites | undefined
  /** LABELS_INCREMENTAL. */
  incremental?: Incremental | undefined
  /** LABELS_SLOW_STATEMENT_MS. */
  slowStatementMs?: number | undefined
  /** LABELS_PG_SETTINGS (undefined: the engine's default, ENGINE_PG_SETTINGS). */
  pgSettings?: Record<string, string> | undefined
}

async function open(data: EngineWorkerData): Promise<{ db: SqlExecutor; readDb?: SqlExecutor }> {
  if (data.databaseUrl) {
    const settings = data.pgSettings ?? parsePgSettings(ENGINE_PG_SETTINGS)
    const conn = { ...(data.schema ? { schema: data.schema } : {}), settings }
    const db = await openPostgres(data.databaseUrl, conn)
    const readDb = await openPostgres(data.databaseUrl, { ...conn, max: 4, statementTimeoutMs: 60_000 }).catch(
      async (e: unknown) => {
        await db.close()
        throw e
      },
    )
    return { db, readDb }
  }
  return { db: await openPglite(data.dataDir) }
}

const data = workerData as EngineWorkerData
let service: EngineService | null = null
let opening: Promise<EngineService> | null = null
let kind: 'pglite' | 'postgres' = 'pglite'

const api = new Proxy({} as Record<string, unknown>, {
  get(_, prop) {
    if (typeof prop !== 'string' || prop === 'then') return undefined
    if (prop === 'ready') {
      return async () => {
        opening ??= open(data).then(async ({ db, readDb }) => {
          kind = db.kind
          const s = new EngineService(db, {
            loadDemo,
            ...(data.resultWrites ? { resultWrites: data.resultWrites } : {}),
            ...(data.incremental !== undefined ? { incremental: data.incremental } : {}),
            ...(data.slowStatementMs !== undefined ? { slowStatementMs: data.slowStatementMs } : {}),
            ...(readDb ? { readDb } : {}),
          })
          await s.migrate()
          return s
        })
        service = await opening
        const methods = Object.getOwnPropertyNames(EngineService.prototype).filter((m) => m !== 'constructor')
        return { kind, methods }
      }
    }
    return async (...args: unknown[]) => {
      if (!service) throw new Error('engine is not ready')
      const fn = (service as unknown as Record<string, unknown>)[prop]
      if (typeof fn !== 'function') throw new Error(`engine has no method ${prop}`)
      return (fn as (...a: unknown[]) => Promise<unknown>).apply(service, args)
    }
  },
})

// Errors (a LabelsError with its code and path) cross with the shared transfer handler.
registerErrorTransport()
Comlink.expose(api, nodeEndpoint(parentPort!))
