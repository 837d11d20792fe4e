import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { EngineApi } from '../../engine/api.ts'
import '../types.ts'

/**
 * Decorates `app.engine` (in-process EngineService or the worker proxy: same interface).
 * The caller owns the engine and closes it after `app.close()`, so runs can finish first.
 * Runs a crash left queued or running are marked failed before anything new starts.
 */
export default fp(
  async function enginePlugin(app: FastifyInstance, opts: { engine: EngineApi; clustered?: boolean }) {
    app.decorate('engine', opts.engine)
    // Several processes on one database: the others' runs are theirs; a dead one's are taken over (server/cluster).
    if (opts.clustered) return
    const interrupted = await opts.engine.failInterruptedRuns()
    if (interrupted.length) app.log.warn({ runs: interrupted.map((r) => r.id) }, 'marked interrupted runs as failed')
  },
  { name: 'engine' },
)
