/**
 * Several server processes on one PostgreSQL database (issue 11). main.ts starts a cluster when
 * DATABASE_URL is set and hands it to buildApp; the plugins wire it:
 *
 *   const cluster = await startCluster(url, { concurrency })
 *   buildApp({ ..., cluster })    // workspace: collab relay; calc: run claims, live relay; engine: no blanket "interrupted"
 *
 * PGlite is single-process (server/data-dir.ts locks its data directory).
 */
import { ClusterBus, type ClusterBusOptions } from './bus.ts'
import { RunClaims } from './run-claims.ts'

export { ClusterBus, type ClusterMessage } from './bus.ts'
export { RunClaims, type TakenRun } from './run-claims.ts'

export interface Cluster {
  bus: ClusterBus
  runs: RunClaims
  close(): Promise<void>
}

export async function startCluster(url: string, opts: ClusterBusOptions & { concurrency: number }): Promise<Cluster> {
  const bus = await ClusterBus.open(url, opts)
  const runs = await RunClaims.open(bus, opts.concurrency)
  return {
    bus,
    runs,
    async close() {
      await runs.close()
      await bus.close()
    },
  }
}
