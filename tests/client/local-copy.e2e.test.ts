import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import * as Y from 'yjs'
import { seedLabels } from '../../bench/offline-reload.ts'
import { createLabel, projectWorkspace } from '../../shared/doc/index.ts'
import { labelInput } from '../shared/doc/helpers.ts'
import { tokens } from '../server/helpers.ts'
import {
  bloatLocalCopy,
  CHROMIUM,
  hasChromium,
  localCopyBytes,
  localCopyRows,
  nodeOperator,
  openSeededPage,
} from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the local-copy reload test (apt-get install -y chromium)`,
  )

const LABELS = 400
const GROUPS = 8

// Runs in the page before its code: the workspace copy's database opens `ms` late (a slow disk,
// a busy machine), so a socket opened at once gets the server's answer before the copy is loaded.
// With `ms` null it opens when the test calls `window.releaseCopy()`.
const slowLocalCopy = (ms: number | null) => {
  const w = window as unknown as { releaseCopy?: () => void }
  const released = new Promise<void>((r) => (w.releaseCopy = r))
  const later = (fn: () => void) => (ms === null ? void released.then(fn) : setTimeout(fn, ms))
  const open = IDBFactory.prototype.open
  IDBFactory.prototype.open = function (this: IDBFactory, name: string, version?: number) {
    const req = open.call(this, name, version)
    if (!name.startsWith('labels-workspace-')) return req
    Object.defineProperty(req, 'onsuccess', {
      set(fn: (e: Event) => void) {
        req.addEventListener('success', (e) => later(() => fn.call(req, e)))
      },
    })
    return req
  }
}

/**
 * A reload that opens from this browser's IndexedDB copy (issue 9, the reload path at 5,000
 * labels): the socket opens once the copy is in, so the server sends what the copy lacks, not
 * the whole document again, and the page sends the server nothing of the copy it already has.
 */
describe.skipIf(!hasChromium)('reloading with the workspace kept in IndexedDB (headless Chromium)', () => {
  let env: Awaited<ReturnType<typeof openSeededPage>>
  let page: Page
  let docBytes = 0

  beforeAll(async () => {
    env = await openSeededPage({
      seed: (url) => seedLabels(url, LABELS, GROUPS),
      viewport: { width: 1400, height: 950 },
    })
    page = env.page
    const op = await nodeOperator(env.base, tokens.editor)
    docBytes = Y.encodeStateAsUpdate(op.doc).byteLength
    op.provider.destroy()
  }, 240_000)
  afterAll(() => env?.close())

  it('asks the server only for what the copy lacks, and sends it nothing of the copy', async () => {
    await page.goto(`${env.base}/?token=${tokens.editor}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    // The first sync is kept once the page is idle (client/sync/local-store.ts).
    await expect.poll(() => page.evaluate(localCopyBytes), { timeout: 20_000 }).toBeGreaterThanOrEqual(docBytes * 0.9)

    // Another operator adds a label while this page is away.
    const op = await nodeOperator(env.base, tokens.editor)
    createLabel(op.doc, labelInput('added_while_away', { dataType: 'string', rule: { method: 'import' } }), {
      kind: 'local',
      actor: 'other',
    })

    await page.addInitScript(slowLocalCopy, 600)
    const received: number[] = []
    const sent: number[] = []
    page.on('websocket', (ws) => {
      if (!ws.url().includes('/collab')) return
      ws.on('framereceived', (f) => received.push(f.payload.length))
      ws.on('framesent', (f) => sent.push(f.payload.length))
    })
    await page.reload()
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    await page.getByTestId('label-filter').fill('added_while')
    await page.getByTestId('label-row-added_while_away').waitFor({ timeout: 20_000 })
    op.provider.destroy()
    expect(received.length).toBeGreaterThan(0)
    // The whole document is ~docBytes; what the copy lacked is one label.
    expect(Math.max(...received)).toBeLessThan(docBytes / 10)
    expect(Math.max(...sent)).toBeLessThan(docBytes / 10)
  })

  it('compacts a copy that holds several whole documents (earlier builds) into one, keeping all of it', async () => {
    await page.goto(`${env.base}/?token=${tokens.editor}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    await expect.poll(() => page.evaluate(localCopyBytes), { timeout: 20_000 }).toBeGreaterThanOrEqual(docBytes * 0.9)
    expect(await page.evaluate(bloatLocalCopy, 3)).toBeGreaterThanOrEqual(4)
    expect(await page.evaluate(localCopyBytes)).toBeGreaterThan(docBytes * 3.5)
    await page.reload()
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    // Compacted once the page is idle after the load (client/sync/local-store.ts needsCompaction).
    await expect.poll(() => page.evaluate(localCopyBytes), { timeout: 20_000 }).toBeLessThan(docBytes * 1.5)
    const rows = await page.evaluate(localCopyRows)
    expect(rows.length).toBeLessThanOrEqual(3)
    // What is left is the whole workspace: every label the server has.
    const doc = new Y.Doc()
    for (const r of rows) Y.applyUpdate(doc, new Uint8Array(r))
    const op = await nodeOperator(env.base, tokens.editor)
    const names = (d: Y.Doc) => projectWorkspace(d).labels.map((l) => l.name)
    expect(names(doc)).toEqual(names(op.doc))
    expect(names(doc).length).toBeGreaterThanOrEqual(LABELS)
    op.provider.destroy()
  })

  it('a browser without a copy opens the socket at once, and keeps the first sync once its database opens', async () => {
    const ctx = await env.browser.newContext({ viewport: { width: 1400, height: 950 } })
    // The copy's database opens only when the test says so: the socket must not wait for it.
    await ctx.addInitScript(slowLocalCopy, null)
    const fresh = await ctx.newPage()
    await fresh.goto(`${env.base}/?token=${tokens.editor}`)
    await fresh.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    // Live, and the tree whole, before the copy's database has opened (the socket did not wait for it).
    const marks = () =>
      fresh.evaluate(() => performance.getEntriesByType('mark').map((m) => m.name.replace('labels:copy-', '')))
    expect(await marks()).not.toContain('opened')
    // Started because there was no copy, not by the wait's time limit (client/sync/create-workspace.ts).
    const why = () =>
      fresh.evaluate(
        () => (performance.getEntriesByName('labels:socket-start')[0] as PerformanceMark | undefined)?.detail,
      )
    expect(await why()).toBe('no-copy')
    expect(await fresh.locator('[data-testid^="group-row-"]').count()).toBeGreaterThanOrEqual(GROUPS)
    // Past the first sync's write at idle (≤ 2 s), which then finds no database: what the page
    // holds is stored whole when it opens. (Were that write later, it would store the same.)
    await new Promise((r) => setTimeout(r, 2500))
    await fresh.evaluate(() => (window as unknown as { releaseCopy: () => void }).releaseCopy())
    await expect.poll(marks, { timeout: 20_000 }).toContain('applied')
    // The server's document is kept all the same: one whole copy, every label in it.
    await expect.poll(() => fresh.evaluate(localCopyBytes), { timeout: 20_000 }).toBeGreaterThanOrEqual(docBytes * 0.9)
    expect(await fresh.evaluate(localCopyBytes)).toBeLessThan(docBytes * 1.5)
    const doc = new Y.Doc()
    for (const r of await fresh.evaluate(localCopyRows)) Y.applyUpdate(doc, new Uint8Array(r))
    expect(projectWorkspace(doc).labels.length).toBeGreaterThanOrEqual(LABELS)
    await ctx.close()
  })
})
