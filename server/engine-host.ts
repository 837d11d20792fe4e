import { Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { EngineApi } from '../engine/api.ts'
import type { ResultWrites } from '../engine/calc/result-swap.ts'
import type { Incremental } from '../engine/calc/incremental.ts'
import { registerErrorTransport } from '../shared/worker-errors.ts'
import type { EngineWorkerData } from './engine-worker.ts'

export type HostedEngine = EngineApi & {
  /** Which database the worker opened. */
  readonly kind: 'pglite' | 'postgres'
  /** Closes the engine, then stops the thread. */
  terminate(): Promise<void>
}

export interface EngineWorkerOptions {
  /** PGlite data directory; undefined = in-memory (tests). Ignored when databaseUrl is set. */
  dataDir?: string
  databaseUrl?: string
  /** PostgreSQL search_path (tests use a throwaway schema). */
  schema?: string
  /** How runs write their results (LABELS_RESULT_WRITES). */
  resultWrites?: ResultWrites
  /** LABELS_INCREMENTAL. */
  incremental?: Incremental
  /** LABELS_SLOW_STATEMENT_MS. */
  slowStatementMs?: number
  /** LABELS_PG_SETTINGS: settings of the engine's PostgreSQL connections (default: ENGINE_PG_SETTINGS). */
  pgSettings?: Record<string, string>
}

/**
 * Starts EngineService in a worker_thread and returns the same EngineApi, so a long query
 * (PGlite blocks its thread while it runs) never stalls the HTTP event loop. Errors thrown in
 * the worker arrive as LabelsError (code, path, details) through the shared transfer handler
 * (shared/worker-errors.ts).
 */
export async function startEngineWorker(opts: EngineWorkerOptions): Promise<HostedEngine> {
  const workerData: { entry: string } & EngineWorkerData = {
    entry: new URL('./engine-worker.ts', import.meta.url).href,
    dataDir: opts.dataDir,
    databaseUrl: opts.databaseUrl,
    schema: opts.schema,
    resultWrites: opts.resultWrites,
    incremental: opts.incremental,
    slowStatementMs: opts.slowStatementMs,
    pgSettings: opts.pgSettings,
  }
  registerErrorTransport()
  const worker = new Worker(new URL('./engine-worker-boot.mjs', import.meta.url), { workerData })
  const failed = new Promise<never>((_, reject) => {
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`engine worker exited with code ${code}`)))
  })
  const remote = Comlink.wrap<Record<string, (...args: unknown[]) => Promise<unknown>>>(nodeEndpoint(worker))
  const ready = remote.ready as unknown as () => Promise<{ kind: 'pglite' | 'postgres'; methods: string[] }>
  const { kind, methods } = await Promise.race([ready(), failed]).catch((e: unknown) => {
    void worker.terminate()
    throw e
  })
  failed.catch(() => {}) // later exits are handled by terminate(); don't crash on the rejection

  let closed = false
  const terminate = async () => {
    if (closed) return
    closed = true
    try {
      await remote.close!()
    } finally {
      remote[Comlink.releaseProxy as unknown as string]?.()
      await worker.terminate()
    }
  }
  const call =
    (name: string) =>
    (...args: unknown[]) =>
      remote[name]!(...args)
  // A plain object with one forwarder per EngineService method (additive extensions included),
  // so it behaves like any object: no magic properties for Fastify or a debugger to trip on.
  const engine: Record<string, unknown> = { kind, terminate }
  for (const m of methods) engine[m] = m === 'close' ? terminate : call(m)
  return engine as unknown as HostedEngine
}
