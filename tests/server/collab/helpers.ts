import Fastify, { type FastifyInstance } from 'fastify'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { collabPlugin, createSqlDocStore, DocRegistry, type DocStore } from '../../../server/collab/index.ts'
import type { DocChangeHook } from '../../../server/collab/live-doc.ts'
import type { SqlExecutor } from '../../../engine/sql-executor.ts'

export const TOKENS: Record<string, { name: string; role: 'viewer' | 'editor' | 'admin' }> = {
  ed1: { name: 'alice', role: 'editor' },
  ed2: { name: 'bob', role: 'editor' },
  adm: { name: 'root', role: 'admin' },
  view: { name: 'vera', role: 'viewer' },
}

export interface TestServer {
  app: FastifyInstance
  url: string
  registry: DocRegistry
  store: DocStore
  close(): Promise<void>
}

/** A minimal Fastify app with just the collab plugin, listening on a random port. */
export async function newCollabServer(
  db: SqlExecutor,
  opts: {
    store?: DocStore
    onDocChange?: DocChangeHook
    compactEvery?: number
    idleCompactMs?: number
    unloadAfterMs?: number
  } = {},
): Promise<TestServer> {
  const store = opts.store ?? (await createSqlDocStore(db))
  const registry = new DocRegistry({
    store,
    onDocChange: opts.onDocChange,
    compactEvery: opts.compactEvery,
    idleCompactMs: opts.idleCompactMs ?? 200,
    unloadAfterMs: opts.unloadAfterMs,
  })
  const app = Fastify({ logger: false })
  await app.register(collabPlugin, {
    authenticate: (t) => TOKENS[t] ?? null,
    registry,
    allowWorkspace: (w) => w !== 'forbidden',
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  return {
    app,
    registry,
    store,
    url: `ws://127.0.0.1:${port}/collab`,
    close: async () => {
      await app.close()
      await registry.close()
    },
  }
}

export interface TestClient {
  doc: Y.Doc
  provider: WebsocketProvider
  destroy(): void
}

/** The stock y-websocket client with the `ws` polyfill, as operators' browsers use it. */
export function newClient(url: string, token: string, workspace = 'main'): TestClient {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(url, workspace, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    disableBc: true,
    maxBackoffTime: 200,
  })
  return { doc, provider, destroy: () => (provider.destroy(), doc.destroy()) }
}

export function synced(c: TestClient): Promise<void> {
  return c.provider.synced ? Promise.resolve() : new Promise((r) => c.provider.once('sync', (s: boolean) => s && r()))
}

/** Polls until `fn` holds (real sockets: no fixed sleeps). */
export async function until(fn: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const t0 = Date.now()
  while (!fn()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A raw ws socket for protocol-level tests; resolves once open (or with its close code). */
export function rawSocket(
  url: string,
): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }>; messages: Uint8Array[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    const messages: Uint8Array[] = []
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    )
    ws.on('message', (d) => messages.push(new Uint8Array(d as Buffer)))
    ws.on('open', () => resolve({ ws, closed, messages }))
    ws.on('error', reject)
  })
}
