import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { TestServer } from '../server/helpers.ts'
import { tokens } from '../server/helpers.ts'
import { editorApi, hasChromium, openDemoPage, CHROMIUM, type DemoPage } from './browser-env.ts'

if (!hasChromium) console.warn(`[tests/client] ${CHROMIUM} is missing: skipping the history backfill browser test`)

describe.skipIf(!hasChromium)('history buckets and backfill on the label page, in headless Chromium', () => {
  let demo: DemoPage
  let server: TestServer
  let page: Page
  let pageErrors: string[] = []
  const api = editorApi(() => server)

  beforeAll(async () => {
    demo = await openDemoPage({ token: tokens.editor, viewport: { width: 1400, height: 1000 } })
    ;({ server, page, pageErrors } = demo)
  }, 300_000)
  afterAll(async () => {
    await demo?.close()
  })

  it('backfills 5 days from the history panel, showing progress, then a chart of 6 days', async () => {
    await page.getByTestId('label-row-spend_90d').click()
    const panel = page.getByTestId('history-panel')
    await panel.waitFor()
    // The number label's fixed intervals are shown.
    await panel
      .getByTestId('history-buckets-current')
      .filter({ hasText: /first result/ })
      .waitFor({ timeout: 20_000 })
    const days = panel.getByTestId('history-backfill-days')
    await days.fill('95')
    expect(await panel.getByTestId('history-backfill-start').isDisabled()).toBe(true)
    await days.fill('5')
    await panel.getByTestId('history-backfill-start').click()
    const status = panel.getByTestId('history-backfill-status')
    await status.and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 60_000 })
    expect(await status.textContent()).toMatch(/Backfilled 5 days/)
    const { items } = await api<{ items: Array<{ date: string }> }>('GET', '/api/labels/spend_90d/history')
    expect(new Set(items.map((i) => i.date)).size).toBe(6)
    // The pushed history reached the table: 6 distinct dates there too.
    await panel.locator('summary').click()
    const dates = await panel.locator('td[data-date]').evaluateAll((tds) => tds.map((t) => t.getAttribute('data-date')))
    expect(new Set(dates).size).toBe(6)
    await panel.screenshot({ path: '/tmp/labels-history-backfill.png' })
    expect(pageErrors).toEqual([])
  })
})
