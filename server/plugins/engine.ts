import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { writeFileSync } from 'node:fs'
import type { EngineApi } from '../../engine/api.ts'
import { readPendingRuns } from '../runs/run-journal.ts'
import '../types.ts'

/**
 * Decorates `app.engine` (in-process EngineService or the worker proxy: same interface).
 * The caller owns the engine and closes it after `app.close()`, so runs can finish first.
 * Runs a crash left queued or running are marked failed before anything new starts.
 */
export default fp(
  async function enginePlugin(
    app: FastifyInstance,
    opts: { engine: EngineApi; clustered?: boolean; pendingRunsFile?: string },
  ) {
    app.decorate('engine', opts.engine)
    // Several processes on one database: the others' runs are theirs; a dead one's are taken over (server/cluster).
    if (opts.clustered) return
    // Runs acknowledged before their rows were stored (server/runs/run-journal.ts), which a crash
    // kept from being stored: stored now as queued, so the next step fails them "interrupted".
    if (opts.pendingRunsFile) {
      const pending = readPendingRuns(opts.pendingRunsFile)
      let stored = 0
      for (const r of pending) {
        try {
          if (await opts.engine.getRun(r.id)) continue
          await opts.engine.createRun(r)
          stored++
        } catch (e) {
          app.log.warn({ err: e, runId: r.id }, 'a run acknowledged before a crash could not be stored')
        }
      }
      if (stored) app.log.warn({ runs: stored }, 'stored runs acknowledged before a crash')
      if (pending.length) writeFileSync(opts.pendingRunsFile, '')
    }
    const interrupted = await opts.engine.failInterruptedRuns()
    if (interrupted.length) app.log.warn({ runs: interrupted.map((r) => r.id) }, 'marked interrupted runs as failed')
  },
  { name: 'engine' },
)
