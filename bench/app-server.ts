/**
 * The whole app (tests' newServer(), with the engine in its worker thread as `npm start` runs it) listening on
 * 127.0.0.1 in a child process, so the benchmark's clients never share its event loop.
 *
 *   const srv = await startAppServer({ clientDir })   // srv.http, srv.collab, srv.pid, srv.stop()
 *
 * `seed: {labels, groups}` starts it with that workspace stored (bench/seed-doc.ts) instead of empty.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { DocStore } from '../server/collab/index.ts'

export interface AppServer {
  /** http://127.0.0.1:PORT */
  http: string
  /** ws://127.0.0.1:PORT/collab (the room name and ?token= follow). */
  collab: string
  pid: number
  stop(): Promise<void>
}

/** Starts the app in a child process; `clientDir` is a built web app to serve at /. */
export function startAppServer(
  opts: { clientDir?: string; seed?: { labels: number; groups: number } } = {},
): Promise<AppServer> {
  const seed = opts.seed ? [`${opts.seed.labels}:${opts.seed.groups}`] : []
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', opts.clientDir ?? '', ...seed],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    const onExit = (c: number | null) => reject(new Error(`bench app server exited with ${c}`))
    child.once('exit', onExit)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (!line) return
      child.off('exit', onExit)
      const port = (JSON.parse(line) as { port: number }).port
      resolve({
        http: `http://127.0.0.1:${port}`,
        collab: `ws://127.0.0.1:${port}/collab`,
        pid: child.pid!,
        stop: () =>
          new Promise<void>((r) => {
            if (child.exitCode !== null) return r()
            child.once('exit', () => r())
            child.kill('SIGTERM')
            // A calculation holding PGlite may delay a graceful close; don't wait for it.
            setTimeout(() => child.kill('SIGKILL'), 5000).unref()
          }),
      })
    })
  })
}

/** The workspace document store, holding a seeded `main` document when `seed` is "labels:groups". */
async function seededDocStore(seed: string): Promise<DocStore> {
  const { createSqlDocStore } = await import('../server/collab/index.ts')
  const { MAIN_WORKSPACE } = await import('../server/plugins/workspace.ts')
  const { newDb } = await import('../tests/helpers/db.ts')
  const { seedDocUpdate } = await import('./seed-doc.ts')
  const [labels, groups] = seed.split(':').map(Number) as [number, number]
  const docStore = await createSqlDocStore(await newDb('pglite'))
  await docStore.append(MAIN_WORKSPACE, seedDocUpdate(labels, groups))
  return docStore
}

async function serve(clientDir: string, seed: string | undefined): Promise<void> {
  const { newServer } = await import('../tests/server/helpers.ts')
  const { startEngineWorker } = await import('../server/engine-host.ts')
  // The engine in its worker thread, as `npm start` runs it: calculations (every new label gets
  // one) never block the sockets and the pages' requests.
  const engine = await startEngineWorker({})
  const server = await newServer('pglite', {
    engine,
    ...(clientDir ? { clientDir } : {}),
    ...(seed ? { docStore: await seededDocStore(seed) } : {}),
  })
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = server.app.server.address()
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n')
  process.once('SIGTERM', () => void server.close().finally(() => process.exit(0)))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--serve') {
  await serve(process.argv[3] ?? '', process.argv[4])
}
