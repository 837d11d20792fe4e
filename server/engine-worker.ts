import { parentPort, workerData } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { openPglite } from '../engine/adapters/pglite.ts'
import { openPostgres } from '../engine/adapters/pg.ts'
import { loadDemo } from '../engine/demo/index.ts'
import { EngineService } from '../engine/service.ts'
import type { SqlExecutor } from '../engine/sql-executor.ts'

export interface EngineWorkerData {
  dataDir?: string | undefined
  databaseUrl?: string | undefined
  schema?: string | undefined
}

/** Comlink can only send an Error's message; send LabelsError fields as a plain object instead. */
function plainError(e: unknown): unknown {
  if (e && typeof e === 'object') {
    const o = e as { name?: string; message?: string; code?: string; path?: string; details?: unknown; stack?: string }
    if (o.name === 'LabelsError') return { name: 'LabelsError', code: o.code, message: o.message, path: o.path, details: o.details }
    return { name: o.name ?? 'Error', message: o.message ?? String(e), stack: o.stack }
  }
  return { name: 'Error', message: String(e) }
}

async function open(data: EngineWorkerData): Promise<SqlExecutor> {
  if (data.databaseUrl) return openPostgres(data.databaseUrl, data.schema ? { schema: data.schema } : {})
  return openPglite(data.dataDir)
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
        opening ??= open(data).then(async (db) => {
          kind = db.kind
          const s = new EngineService(db, { loadDemo })
          await s.migrate()
          return s
        })
        service = await opening.catch((e: unknown) => Promise.reject(plainError(e)))
        const methods = Object.getOwnPropertyNames(EngineService.prototype).filter((m) => m !== 'constructor')
        return { kind, methods }
      }
    }
    return async (...args: unknown[]) => {
      if (!service) throw plainError(new Error('engine is not ready'))
      const fn = (service as unknown as Record<string, unknown>)[prop]
      if (typeof fn !== 'function') throw plainError(new Error(`engine has no method ${prop}`))
      try {
        return await (fn as (...a: unknown[]) => Promise<unknown>).apply(service, args)
      } catch (e) {
        throw plainError(e)
      }
    }
  },
})

Comlink.expose(api, nodeEndpoint(parentPort!))
