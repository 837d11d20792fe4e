import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import type { Backfill } from '../../engine/api.ts'
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

  it('Cancel stops a running backfill from the page: the UI says so, the days written stay, the job is cancelled', async () => {
    // The engine writes two days, then holds the third until the test lets it go (after the Cancel).
    const engine = server.engine
    const backfillDay = engine.backfillDay.bind(engine)
    let release: () => void = () => {}
    const held = new Promise<void>((r) => (release = r))
    engine.backfillDay = async (input) => {
      if ((input.step ?? 0) >= 2) await held
      return backfillDay(input)
    }
    try {
      const before = await api<{ items: Array<{ date: string }> }>('GET', '/api/labels/customer_stage/history')
      const beforeDates = new Set(before.items.map((i) => i.date))
      await page.getByTestId('label-row-customer_stage').click()
      const panel = page.getByTestId('history-panel')
      await panel.getByTestId('history-backfill-days').fill('5')
      await panel.getByTestId('history-backfill-start').click()
      const status = panel.getByTestId('history-backfill-status')
      await status.filter({ hasText: 'Backfilling… 2 of 5 days' }).waitFor({ timeout: 60_000 })
      expect(await panel.getByTestId('history-backfill-start').isDisabled()).toBe(true)
      await panel.getByTestId('history-backfill-cancel').click()
      await status.and(page.locator('[data-status="cancelled"]')).waitFor({ timeout: 20_000 })
      expect(await status.textContent()).toMatch(/Backfill cancelled after 2 of 5 days/)
      expect(await panel.getByTestId('history-backfill-cancel').count()).toBe(0)
      await panel.screenshot({ path: '/tmp/labels-history-backfill-cancelled.png' })
      // The held day goes on now: it must find the job cancelled and write nothing.
      release()
      const { backfills } = await api<{ backfills: Backfill[] }>('GET', '/api/labels/customer_stage/backfills')
      const job = backfills[0]!
      await server.app.runQueue.idle()
      expect(await api<Backfill>('GET', `/api/backfills/${job.id}`)).toMatchObject({
        status: 'cancelled',
        done: 2,
        days: 5,
        finishedAt: expect.any(String),
      })
      // The two newest past days stay stored, and nothing else was added.
      const after = await api<{ items: Array<{ date: string }> }>('GET', '/api/labels/customer_stage/history')
      const dayBefore = new Date(Date.parse(`${job.to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)
      expect(new Set(after.items.map((i) => i.date))).toEqual(new Set([...beforeDates, job.to, dayBefore]))
      // The page still says cancelled once everything has settled, and a new backfill may start.
      expect(await status.getAttribute('data-status')).toBe('cancelled')
      expect(await panel.getByTestId('history-backfill-start').isDisabled()).toBe(false)
      expect(pageErrors).toEqual([])
    } finally {
      release()
      engine.backfillDay = backfillDay
    }
  })
})
