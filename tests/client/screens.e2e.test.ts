import { mkdir, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Backfill } from '../../engine/api.ts'
import { demoUserId } from '../../engine/demo/index.ts'
import { newServer, tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, CHROMIUM, demoServer, editorApi, hasChromium, launchChromium } from './browser-env.ts'

if (!hasChromium) console.warn(`[tests/client] ${CHROMIUM} is missing: skipping the screenshots of the main screens`)

/**
 * Screenshots of every main screen at 800, 1400 and 1920 px wide, saved as test artifacts in
 * tests/artifacts/screens/<screen>-<width>.png (tests/artifacts/ is kept by CI, ignored by git).
 * The label page with its charts is in charts.e2e.test.ts (tests/artifacts/label-page-<width>*.png).
 * Each screen is also checked not to need a horizontal scroll bar at that width.
 */
const ARTIFACTS = resolve(import.meta.dirname, '../artifacts/screens')
const WIDTHS = [800, 1400, 1920] as const

describe.skipIf(!hasChromium)('screenshots of the main screens at 800, 1400 and 1920 px', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let empty: TestServer
  let base = ''
  let emptyBase = ''
  let browser: Browser
  const pageErrors: string[] = []
  const api = editorApi(() => server)

  const open = async (ctx: BrowserContext, url: string, token: string): Promise<Page> => {
    const p = await ctx.newPage()
    p.on('pageerror', (e) => pageErrors.push(e.message))
    await p.goto(`${url}/?token=${token}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    return p
  }
  /** Saves the page (or one element of it) as <name>-<width>.png; the page must not scroll sideways. */
  const shoot = async (p: Page, name: string, width: number, testId?: string) => {
    await p.waitForTimeout(300) // the charts' resize frame and short transition
    const path = `${ARTIFACTS}/${name}-${width}.png`
    if (testId) await p.getByTestId(testId).screenshot({ path })
    else await p.screenshot({ path })
    expect((await stat(path)).size).toBeGreaterThan(1000)
    const sideways = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(sideways, `${name} at ${width} px scrolls sideways`).toBeLessThanOrEqual(0)
  }

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    empty = await newServer('pglite', { clientDir: client.dir })
    await empty.app.listen({ port: 0, host: '127.0.0.1' })
    const addr = empty.app.server.address()
    emptyBase = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
    // A history worth showing: a week of backfilled days for the number label.
    const { backfillId } = await api<{ backfillId: string }>('POST', '/api/labels/spend_90d/backfill', { days: 7 })
    await until(
      async () => (await api<Backfill>('GET', `/api/backfills/${backfillId}`)).status === 'succeeded',
      120_000,
    )
    browser = await launchChromium()
  }, 420_000)

  afterAll(async () => {
    await browser?.close()
    await empty?.close()
    await server?.close()
    await client?.dispose()
  })

  for (const width of WIDTHS) {
    it(`every main screen at ${width} px`, async () => {
      const ctxA = await browser.newContext({ viewport: { width, height: 1000 } })
      const ctxB = await browser.newContext({ viewport: { width, height: 1000 } })
      try {
        const a = await open(ctxA, base, tokens.editor) // eve
        // Overview: the landing table of every label.
        await a.getByTestId('overview-table').waitFor()
        await a.locator('[data-testid="overview-table"] [data-testid="cell-state"]').first().waitFor()
        await until(async () => (await a.locator('tr[data-testid^="overview-row-"]').count()) === 6)
        await shoot(a, 'overview', width)

        // History with its fixed buckets and the backfill control.
        await a.getByTestId('label-row-spend_90d').click()
        const history = a.getByTestId('history-panel')
        await history
          .getByTestId('history-buckets-current')
          .filter({ hasText: /first result/ })
          .waitFor()
        await history.getByTestId('history-backfill-status').and(a.locator('[data-status="succeeded"]')).waitFor()
        await a.locator('[data-testid="history-chart"] svg g.series').first().waitFor({ timeout: 30_000 })
        await shoot(a, 'history', width, 'history-panel')

        // Explain a customer's value.
        await a.getByTestId('label-row-customer_stage').click()
        await a.getByLabel('Customer user_id').fill(demoUserId(3))
        await a.getByLabel('Customer user_id').press('Enter')
        await a.getByTestId('explain-value').waitFor({ timeout: 20_000 })
        await shoot(a, 'explain', width, 'explain-card')

        // Version history of the same label.
        await a.getByTestId('version-1').waitFor()
        await shoot(a, 'version-history', width, 'versions-card')

        // Draft co-editing: two operators in one draft, each seeing where the other is.
        const b = await open(ctxB, base, tokens.admin) // ada
        for (const p of [a, b]) {
          await p.getByTestId('label-row-customer_stage').click()
          await p.getByTestId('edit-label').click()
          await p.getByTestId('draft-info').waitFor()
        }
        await a.getByTestId('layer-value-0').click()
        await b.getByTestId('layer-value-2').click()
        await a.locator('[data-field-mark="/rule/values/2"][data-peer="ada"]').waitFor({ timeout: 10_000 })
        await shoot(a, 'draft-presence', width)
        for (const p of [a, b]) {
          await p.getByTestId('close-editor').click()
          await p.getByTestId('label-editor').waitFor({ state: 'detached' })
        }

        // Offline: the banner, with the page still usable.
        await ctxA.setOffline(true)
        await a.getByTestId('offline-banner').waitFor({ timeout: 10_000 })
        await a.getByTestId('sync-status').filter({ hasText: 'offline' }).waitFor()
        await shoot(a, 'offline', width)
        await ctxA.setOffline(false)
        await a.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })

        // An empty workspace: how to load data.
        const e = await open(ctxB, emptyBase, tokens.admin)
        await e.getByTestId('empty-workspace').waitFor()
        await e.getByTestId('overview-empty').waitFor()
        await shoot(e, 'empty-workspace', width)
      } finally {
        await ctxA.close()
        await ctxB.close()
      }
      expect(pageErrors).toEqual([])
    }, 240_000)
  }
})
