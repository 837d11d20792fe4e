import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { demoUserId } from '../../engine/demo/index.ts'
import type { TestServer } from '../server/helpers.ts'
import { tokens } from '../server/helpers.ts'
import { editorApi, hasChromium, openDemoPage, CHROMIUM, type DemoPage } from './browser-env.ts'

if (!hasChromium) console.warn(`[tests/client] ${CHROMIUM} is missing: skipping the explain browser test`)

describe.skipIf(!hasChromium)('explain a customer on the label page, in headless Chromium', () => {
  let demo: DemoPage
  let server: TestServer
  let page: Page
  let pageErrors: string[] = []
  const api = editorApi(() => server)

  beforeAll(async () => {
    demo = await openDemoPage({
      token: tokens.viewer /* explaining is a read */,
      viewport: { width: 1400, height: 1000 },
    })
    ;({ server, page, pageErrors } = demo)
  }, 300_000)
  afterAll(async () => {
    await demo?.close()
  })

  /** Types a user_id into the labelled field and submits with Enter (keyboard only). */
  const lookUp = async (userId: string) => {
    const field = page.getByLabel('Customer user_id')
    await field.fill('')
    await field.focus()
    await page.keyboard.type(userId)
    await page.keyboard.press('Enter')
  }

  it('looks up a customer by user_id and shows the value, the matched layer and each condition with ✓/✗', async () => {
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('explain-card').waitFor()
    // A customer of each stage the demo has: the reason must end in their stored value.
    const { labels } = await api<{ labels: Array<{ name: string; value: unknown }> }>(
      'GET',
      `/api/users/${demoUserId(3)}/labels`,
    )
    const stored = labels.find((l) => l.name === 'customer_stage')?.value ?? null
    await lookUp(demoUserId(3))
    const value = page.getByTestId('explain-value')
    await value.waitFor({ timeout: 20_000 })
    expect(await value.textContent()).toContain(stored === null ? 'no value' : JSON.stringify(stored))
    const summary = (await page.getByTestId('explain-summary').textContent()) ?? ''
    expect(summary).toMatch(/^(Layer \d matched|No layer matched)/)
    // Every layer is listed; the one that matched is marked, its conditions read with marks.
    expect(await page.getByTestId('explain-layer').count()).toBe(3)
    const lines = await page.getByTestId('explain-condition').allTextContents()
    expect(lines.length).toBeGreaterThanOrEqual(4)
    for (const l of lines) expect(l).toMatch(/[✓✗]/)
    expect(lines.some((l) => /count of purchase in the last 30 days = [\d,.]+ ≥ 1/.test(l))).toBe(true)
    await page.getByTestId('explain-card').screenshot({ path: '/tmp/labels-explain-custom.png' })
  })

  it('shows the ranking behind a preference and says so for an unknown customer', async () => {
    await page.getByTestId('label-row-favourite_category').click()
    await page.getByTestId('fact-method').filter({ hasText: 'Event preference' }).waitFor()
    // The answer for the previous label is gone.
    expect(await page.getByTestId('explain-value').count()).toBe(0)
    await lookUp(demoUserId(7))
    await page.getByTestId('explain-summary').waitFor({ timeout: 20_000 })
    const x = await api<{ stored: unknown; reason: { ranking: unknown[] } }>(
      'GET',
      `/api/labels/favourite_category/explain/${demoUserId(7)}`,
    )
    expect(x.reason.ranking.length, 'this demo customer has preference events').toBeGreaterThan(0)
    await page.getByTestId('explain-ranking').waitFor()
    expect(await page.locator('[data-testid="explain-ranking"] tbody tr').count()).toBe(x.reason.ranking.length)
    expect(await page.getByTestId('explain-value').textContent()).toContain(
      x.stored === null ? 'no value' : JSON.stringify(x.stored),
    )
    await lookUp('no-such-customer')
    const err = page.getByTestId('explain-error')
    await err.waitFor({ timeout: 20_000 })
    expect(await err.textContent()).toContain('no customer with user_id "no-such-customer"')
    expect(await page.getByTestId('explain-value').count()).toBe(0)
    expect(pageErrors).toEqual([])
  })
})
