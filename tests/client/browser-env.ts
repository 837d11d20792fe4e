import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { build } from 'vite'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { loadDemoWorkspace } from '../../server/demo/demo-workspace.ts'
import { auth, newServer, until, type TestServer } from '../server/helpers.ts'
import type { EngineServiceOptions } from '../../engine/service.ts'

export const CHROMIUM = '/usr/bin/chromium'
export const hasChromium = existsSync(CHROMIUM)

/**
 * Builds the web app with its own Vite config into a temp dir (the test's own dist/client);
 * `minify: false` keeps function names for readable CPU profiles.
 */
export async function buildClient(o: { minify?: boolean } = {}): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'labels-client-'))
  await build({
    configFile: resolve(import.meta.dirname, '../../client/vite.config.ts'),
    logLevel: 'error',
    build: { outDir: dir, emptyOutDir: true, ...(o.minify === false ? { minify: false } : {}) },
  })
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) }
}

/**
 * A listening server with the demo workspace (groups + one label of each method), serving
 * `clientDir`, once every demo label's creation run has finished (so there are results to show).
 */
export async function demoServer(
  clientDir: string,
  users = 400,
  engineOpts: EngineServiceOptions = {},
): Promise<{ server: TestServer; base: string }> {
  const server = await newServer('pglite', { clientDir }, engineOpts)
  await loadDemoWorkspace(server.app, { users })
  const api = editorApi(() => server)
  await runsSettled(api, 6)
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = server.app.server.address()
  return { server, base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}` }
}

/** Waits until every label (`count` of them, when given) has a finished last run. */
export async function runsSettled(api: ReturnType<typeof editorApi>, count?: number): Promise<void> {
  await until(async () => {
    const { labels } = await api<{ labels: Array<{ lastRun: { status: string } | null }> }>('GET', '/api/labels')
    return (
      (count === undefined || labels.length === count) &&
      labels.every((l) => l.lastRun && (l.lastRun.status === 'succeeded' || l.lastRun.status === 'failed'))
    )
  }, 60_000)
}

/** Headless Chromium as the brief prescribes. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
}

/** The REST API of a test server as an editor: JSON in and out, an error for any status ≥ 400. */
export function editorApi(server: () => TestServer) {
  return async <T>(method: string, url: string, payload?: unknown): Promise<T> => {
    const r = await server().app.inject({
      method: method as 'GET',
      url,
      headers: auth('editor'),
      ...(payload !== undefined ? { payload: payload as object } : {}),
    })
    if (r.statusCode >= 400) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`)
    return (r.body ? JSON.parse(r.body) : undefined) as T
  }
}

/** A built client, the demo server, Chromium and one page signed in and live: the label-page tests' set-up. */
export interface DemoPage {
  server: TestServer
  base: string
  browser: Browser
  page: Page
  /** Uncaught errors of the page, for a test to assert none happened. */
  pageErrors: string[]
  close(): Promise<void>
}

export async function openDemoPage(o: {
  token: string
  viewport: { width: number; height: number }
}): Promise<DemoPage> {
  const client = await buildClient()
  const { server, base } = await demoServer(client.dir)
  const browser = await launchChromium()
  const page = await (await browser.newContext({ viewport: o.viewport })).newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(`${base}/?token=${o.token}`)
  await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
  return {
    server,
    base,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close()
      await server.close()
      await client.dispose()
    },
  }
}

/**
 * A built client on a PGlite server without demo data, `seed` run against its collab URL
 * (e.g. bench/offline-reload.ts seedLabels), and a Chromium page of the viewport (not navigated).
 */
export async function openSeededPage(o: {
  seed: (collabUrl: string) => Promise<unknown>
  viewport: { width: number; height: number }
}): Promise<Omit<DemoPage, 'pageErrors'>> {
  const client = await buildClient()
  const server = await newServer('pglite', { clientDir: client.dir })
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = server.app.server.address()
  const port = typeof addr === 'object' && addr ? addr.port : 0
  await o.seed(`ws://127.0.0.1:${port}/collab`)
  const browser = await launchChromium()
  const page = await (await browser.newContext({ viewport: o.viewport })).newPage()
  page.setDefaultTimeout(30_000)
  return {
    server,
    base: `http://127.0.0.1:${port}`,
    browser,
    page,
    async close() {
      await browser.close()
      await server.close()
      await client.dispose()
    },
  }
}

/** Another operator beside the page: the stock y-websocket client on the page's server, synced. */
export async function nodeOperator(base: string, token: string): Promise<{ doc: Y.Doc; provider: WebsocketProvider }> {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(`${base.replace(/^http/, 'ws')}/collab`, 'main', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token },
    disableBc: true,
  })
  await new Promise<void>((res) => (provider.synced ? res() : provider.once('sync', (s: boolean) => s && res())))
  return { doc, provider }
}

// Runs in the page: bytes in the workspace's IndexedDB copy (y-indexeddb's 'updates' store).
export function localCopyBytes(): Promise<number> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('labels-workspace-main')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const db = open.result
      if (!db.objectStoreNames.contains('updates')) return resolve((db.close(), 0))
      const all = db.transaction('updates', 'readonly').objectStore('updates').getAll()
      all.onsuccess = () => {
        db.close()
        resolve((all.result as Uint8Array[]).reduce((n, u) => n + u.byteLength, 0))
      }
      all.onerror = () => reject(all.error)
    }
  })
}

// Runs in the page: appends `times` more copies of the workspace copy's largest row (a whole
// document), as builds before the IndexedDB reload path was fixed did at reloads; the rows then.
export function bloatLocalCopy(times: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('labels-workspace-main')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const db = open.result
      const store = db.transaction('updates', 'readwrite').objectStore('updates')
      const all = store.getAll()
      all.onsuccess = () => {
        const rows = all.result as Uint8Array[]
        const largest = rows.reduce((a, b) => (b.byteLength > a.byteLength ? b : a))
        for (let i = 0; i < times; i++) store.add(largest)
        store.transaction.oncomplete = () => resolve((db.close(), rows.length + times))
      }
      store.transaction.onerror = () => reject(store.transaction.error)
    }
  })
}

// Runs in the page: the workspace copy's rows, as plain arrays (to be decoded in Node).
export function localCopyRows(): Promise<number[][]> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('labels-workspace-main')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const db = open.result
      const all = db.transaction('updates', 'readonly').objectStore('updates').getAll()
      all.onsuccess = () => resolve((db.close(), (all.result as Uint8Array[]).map((u) => Array.from(u))))
      all.onerror = () => reject(all.error)
    }
  })
}
