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
  it('an answer of GET /api/me that is not an operator signs in to a clear message, not a broken page', async () => {
    const c = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    const p = await c.newPage()
    const errors: string[] = []
    p.on('pageerror', (e) => errors.push(e.message))
    // Something between the page and the server answering 200 with something else.
    await p.route('**/api/me', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: '{"unexpected":true}' }),
    )
    await p.goto(`${base}/?token=${tokens.editor}`)
    const reason = p.getByTestId('login-reason')
    await reason.waitFor({ timeout: 30_000 })
    expect(await reason.textContent()).toContain('the answer of GET /api/me is not a signed-in operator')
    expect(await p.evaluate(() => localStorage.getItem('labels.me'))).toBeNull() // nothing remembered
    expect(errors).toEqual([])
    await c.close()
  }, 120_000)

  it('a remembered answer that is not an operator is not used: the server is asked, the workspace opens', async () => {
    const c = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    const token = tokens.editor
    await c.addInitScript((t) => {
      if (sessionStorage.getItem('test:bad-me')) return
      sessionStorage.setItem('test:bad-me', '1')
      localStorage.setItem('labels.token', t)
      localStorage.setItem('labels.me', JSON.stringify({ token: t, me: { role: 'editor' } })) // no name
    }, token)
    const p = await c.newPage()
    const errors: string[] = []
    p.on('pageerror', (e) => errors.push(e.message))
    await p.goto(base)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    await p.getByTestId('new-label').waitFor()
    expect(await p.evaluate(() => localStorage.getItem('labels.me'))).toContain('"name":')
    expect(errors).toEqual([])
    await c.close()
  }, 120_000)

  it('the offline notice failing to draw shows one line with Retry; the tree stays, and it recovers when back online', async () => {
    const c = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    // The notice's clock ("since 10:42") throws, as a broken locale setting of a browser might.
    await c.addInitScript(() => {
      Date.prototype.toLocaleTimeString = () => {
        throw new Error('no time format')
      }
    })
    const p = await c.newPage()
    await p.goto(`${base}/?token=${tokens.editor}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    await c.setOffline(true)
    const bar = p.getByTestId('bar-error')
    await bar.waitFor({ timeout: 20_000 })
    expect(await bar.textContent()).toContain('The offline notice could not be shown: no time format')
    expect(await p.getByTestId('bar-error').count()).toBe(1) // the top bar is still itself
    expect(await p.getByTestId('sync-status').textContent()).toContain('offline')
    expect(await p.locator('[data-testid^="group-row-"]').count()).toBeGreaterThan(0)
    expect(await p.getByText('Something went wrong').count()).toBe(0)
    await c.setOffline(false)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    await bar.waitFor({ state: 'detached', timeout: 20_000 })
    await c.close()
  }, 120_000)

  it("opens the workspace's socket before the live channel's (one handshake to a host at a time), and both open", async () => {
    const c = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    const p = await c.newPage()
    const sockets: string[] = []
    let liveSent = 0
    p.on('websocket', (ws) => {
      sockets.push(new URL(ws.url()).pathname)
      // The overview subscribes to every label's runs once the live channel is open.
      if (ws.url().endsWith('/api/live')) ws.on('framesent', () => liveSent++)
    })
    await p.goto(`${base}/?token=${tokens.editor}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    await expect.poll(() => sockets.length, { timeout: 20_000 }).toBe(2)
    expect(sockets).toEqual(['/collab/main', '/api/live'])
    await expect.poll(() => liveSent, { timeout: 20_000 }).toBeGreaterThan(0)
    await c.close()
  }, 120_000)

  it('a top bar that has not failed is kept across the connection going and coming back: its focused button stays focused', async () => {
    const c = await browser.newContext({ viewport: { width: 1400, height: 950 }, serviceWorkers: 'block' })
    const p = await c.newPage()
    await p.goto(`${base}/?token=${tokens.editor}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    // A mark on the bar's own element, and the focus on its Home link: both go if the bar is drawn again.
    await p.evaluate(() => {
      document.querySelector<HTMLElement>('[data-testid="sync-status"]')!.dataset['probe'] = 'kept'
      document.querySelector<HTMLElement>('[data-testid="home"]')!.focus()
    })
    const kept = () =>
      p.evaluate(() => ({
        mark: document.querySelector<HTMLElement>('[data-testid="sync-status"]')?.dataset['probe'] ?? null,
        focused: document.activeElement?.getAttribute('data-testid') ?? null,
      }))
    await c.setOffline(true)
    await p.getByTestId('sync-status').filter({ hasText: 'offline' }).waitFor({ timeout: 20_000 })
    expect(await kept()).toEqual({ mark: 'kept', focused: 'home' })
    await c.setOffline(false)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    expect(await kept()).toEqual({ mark: 'kept', focused: 'home' })
    await c.close()
  }, 120_000)
})
