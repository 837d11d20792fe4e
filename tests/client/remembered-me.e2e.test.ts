import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page, Route } from 'playwright-core'
import { newServer, tokens, type TestServer } from '../server/helpers.ts'
import { buildClient, CHROMIUM, hasChromium, launchChromium } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the remembered sign-in tests (apt-get install -y chromium)`,
  )

/**
 * Issue 9 ("Scale", load → interactive): a token this browser signed in with before opens the
 * workspace at once with the remembered answer of GET /api/me, which is read meanwhile: its socket
 * does not wait for the round trip. A different answer restarts the screen with it; a refusal
 * signs out.
 */
describe.skipIf(!hasChromium)('a reload does not wait for GET /api/me (Chromium)', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let ctx: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  beforeAll(async () => {
    client = await buildClient()
    server = await newServer('pglite', { clientDir: client.dir })
    await server.app.listen({ port: 0, host: '127.0.0.1' })
    const addr = server.app.server.address()
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
    browser = await launchChromium()
    // No service worker: the routes below see every request of the page.
    ctx = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${base}/?token=${tokens.editor}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
  }, 240_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  /** Holds GET /api/me until `release()`; `asked` resolves when the page has asked. */
  const holdMe = async () => {
    let release: () => void = () => {}
    const released = new Promise<void>((r) => (release = r))
    let asked: () => void = () => {}
    const wasAsked = new Promise<void>((r) => (asked = r))
    const handler = async (route: Route) => {
      asked()
      await released
      await route.continue().catch(() => {}) // the page may have moved on
    }
    await page.route('**/api/me', handler)
    return { release, wasAsked, stop: () => page.unroute('**/api/me', handler) }
  }

  it("opens the workspace's socket and the tree while GET /api/me is still unanswered", async () => {
    const me = await holdMe()
    const socket = page.waitForEvent('websocket', { predicate: (ws) => ws.url().includes('/collab/'), timeout: 20_000 })
    await page.reload()
    await me.wasAsked
    await socket // before /api/me answered
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    await page.getByTestId('new-label').waitFor()
    me.release()
    await me.stop()
    expect(pageErrors).toEqual([])
  }, 120_000)

  it('a different answer (the role changed) starts the screen again with it', async () => {
    // What this browser remembers says viewer; the server says editor. Set as the next page starts
    // (once): the current page may still be storing the answer the last test released, after it.
    await page.addInitScript(() => {
      if (sessionStorage.getItem('test:viewer-remembered')) return
      sessionStorage.setItem('test:viewer-remembered', '1')
      const r = JSON.parse(localStorage.getItem('labels.me') ?? 'null') as { me: { role: string } }
      r.me.role = 'viewer'
      localStorage.setItem('labels.me', JSON.stringify(r))
    })
    const me = await holdMe()
    await page.reload()
    await me.wasAsked
    await page.getByTestId('sync-status').waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('new-label').count()).toBe(0) // the remembered viewer
    me.release()
    await page.getByTestId('new-label').waitFor({ timeout: 30_000 }) // the server's editor
    await me.stop()
    expect(await page.evaluate(() => localStorage.getItem('labels.me'))).toContain('"role":"editor"')
    expect(pageErrors).toEqual([])
  }, 120_000)

  it('a refused token signs out even though an answer was remembered for it', async () => {
    await page.evaluate(() => {
      const r = JSON.parse(localStorage.getItem('labels.me') ?? 'null') as { token: string }
      r.token = 'revoked-token-0001'
      localStorage.setItem('labels.me', JSON.stringify(r))
      localStorage.setItem('labels.token', 'revoked-token-0001')
    })
    await page.reload()
    await page.getByTestId('login-reason').waitFor({ timeout: 30_000 })
    expect(await page.evaluate(() => localStorage.getItem('labels.token'))).toBeNull()
  }, 120_000)
})
