import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openPglite, smallPgliteConf } from '../engine/adapters/pglite.ts'
import { openPostgres } from '../engine/adapters/pg.ts'
import { withXactLock } from '../engine/sql-executor.ts'
import { buildApp } from './app.ts'
import { ensureClientBuilt } from './client-build.ts'
import { ensureAdminToken, parseTokens, type TokenEntry } from './auth/tokens.ts'
import { readTokenFile, TokenFile } from './auth/token-file.ts'
import { createSqlDocStore } from './collab/index.ts'
import { readConfig } from './config.ts'
import { ensureWritableDataDir, lockDataDir } from './data-dir.ts'
import { collabStoreHooks } from './cluster/collab-relay.ts'
import { startCluster } from './cluster/index.ts'
import { isEmptyWorkspace, loadDemoWorkspace } from './demo/demo-workspace.ts'
import { startEngineWorker } from './engine-host.ts'

/** `npm start`: one process serving the web app, the API, /api/live and /collab (docs/api.md#configuration). */
async function main(): Promise<void> {
  const cfg = readConfig(process.env)
  await ensureWritableDataDir(cfg.dataDir)
  // PGlite: one process per data directory (a second one is refused, naming the first's pid).
  const unlock = cfg.databaseUrl ? () => {} : lockDataDir(cfg.dataDir)
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..')
  const clientDir = join(root, 'dist', 'client')
  if (process.env.LABELS_SKIP_CLIENT_BUILD !== '1') {
    const t0 = Date.now()
    process.stdout.write('  Building the web app (only when its sources changed)… ')
    const done = await ensureClientBuilt(root, clientDir)
    process.stdout.write(done === 'built' ? `built in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` : 'up to date\n')
  }

  let tokens: TokenEntry[]
  let printToken: string | null = null
  if (cfg.tokens) tokens = parseTokens(cfg.tokens)
  else if (cfg.tokensFile) tokens = await readTokenFile(cfg.tokensFile)
  else {
    const { entry } = await ensureAdminToken(cfg.dataDir)
    tokens = [entry]
    printToken = entry.token
  }

  // The engine runs in a worker thread: a long query never stalls HTTP or WebSockets.
  const engine = await startEngineWorker({
    ...(cfg.databaseUrl ? { databaseUrl: cfg.databaseUrl } : { dataDir: join(cfg.dataDir, 'engine') }),
    resultWrites: cfg.resultWrites,
    incremental: cfg.incremental,
    slowStatementMs: cfg.slowStatementMs,
    pgSettings: cfg.pgSettings,
  })
  const concurrency = engine.kind === 'pglite' ? 1 : cfg.calcConcurrency
  // PostgreSQL: this process is one node of a cluster sharing the database (server/cluster): any
  // number of processes behind a load balancer behave as one server.
  const cluster = cfg.databaseUrl
    ? await startCluster(cfg.databaseUrl, {
        leaseMs: cfg.clusterLeaseMs,
        concurrency,
        log: (level, msg, err) => console[level === 'info' ? 'log' : level](msg, err ?? ''),
      })
    : undefined
  // The collaborative document's store lives on this thread (PGlite can't be shared across threads).
  const docDb = cfg.databaseUrl
    ? await openPostgres(cfg.databaseUrl, { max: 2 })
    : await openPglite(join(cfg.dataDir, 'collab'), { conf: smallPgliteConf })
  const docStore = await createSqlDocStore(docDb, cluster ? collabStoreHooks(cluster.bus) : {})

  const app = await buildApp({
    engine,
    db: engine.kind,
    dataDir: cfg.dataDir,
    tokens,
    tz: cfg.tz,
    docStore,
    collabUnloadMs: cfg.collabUnloadMs,
    collabRelayHoldMs: cfg.collabRelayHoldMs,
    audit: { maxBytes: cfg.auditMaxBytes, keep: cfg.auditKeep },
    allowedOrigins: cfg.allowedOrigins,
    clientDir,
    logger: { level: process.env.LOG_LEVEL ?? 'info' },
    calc: { concurrency },
    ...(cluster ? { cluster } : {}),
  })
  await app.ready()
  const stopTokenFile = cfg.tokensFile ? new TokenFile(cfg.tokensFile, app.tokens).watch(app.log) : () => {}

  const loadDemo = async () => {
    if (!cfg.demo || !(await isEmptyWorkspace(app))) return
    const t0 = Date.now()
    app.log.info(`first start: loading the demo workspace (${cfg.demoUsers} customers)…`)
    const demo = await loadDemoWorkspace(app, { users: cfg.demoUsers })
    app.log.info(
      `demo loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${demo.users} customers, ${demo.events} events, ${demo.labels} labels (calculating)`,
    )
  }
  // Several processes starting at once on an empty database: one loads the demo, the others see it loaded.
  if (cluster) await withXactLock(cluster.bus.db, 'labels-demo', loadDemo)
  else await loadDemo()

  await app.listen({ port: cfg.port, host: cfg.host })
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : cfg.port
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host
  console.log(`\n  Labels is running (${engine.kind}, data in ${cfg.databaseUrl ? 'PostgreSQL' : cfg.dataDir})`)
  console.log(
    cluster
      ? `  Cluster node ${cluster.bus.nodeId}: other processes on this database serve the same workspace`
      : '  PGlite serves one process: a second `npm start` on this data directory is refused (use DATABASE_URL to run several)',
  )
  console.log(
    printToken ? `  Open: http://${host}:${port}/?token=${printToken}\n` : `  Open: http://${host}:${port}/\n`,
  )

  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info(`${signal}: shutting down`)
    // A second signal, or a hang, must still end the process.
    const force = setTimeout(() => process.exit(1), 60_000)
    force.unref()
    try {
      stopTokenFile()
      await app.close() // stops accepting, closes sockets, lets runs finish (or aborts), flushes documents
      await engine.terminate()
      await docDb.close()
      await cluster?.close()
      unlock()
      process.exit(0)
    } catch (e) {
      console.error(e)
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
