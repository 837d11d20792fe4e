import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { newServer, tokens, until, type TestServer } from '../server/helpers.ts'
import {
  buildClient,
  CHROMIUM,
  demoServer,
  editorApi,
  hasChromium,
  launchChromium,
  runsSettled,
} from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the overview end-to-end tests (apt-get install -y chromium)`,
  )

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts/screens')

type ApiLabel = { id: string; name: string; enabled: boolean; groupId: string; dataType: string; rule: unknown }

/**
 * Issue 9, items 6 and 7 in headless Chromium: the overview table (sort, filter, bulk actions,
 * live runs), the and/or/not builder, the data type following the property, human errors,
 * Back/Forward between labels, and the empty workspace.
 */
describe.skipIf(!hasChromium)('overview and forms in headless Chromium', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []
  const api = editorApi(() => server)

  const open = async (url: string, token: string = tokens.editor) => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 950 } })
    // Records every red error the editor shows (the preview's and the rule's), however briefly.
    await ctx.addInitScript(() => {
      const seen: string[] = []
      ;(window as unknown as { redErrors: string[] }).redErrors = seen
      new MutationObserver(() => {
        for (const id of ['preview-error', 'error-rule'])
          if (document.querySelector(`[data-testid="${id}"]`) && !seen.includes(id)) seen.push(id)
      }).observe(document, { subtree: true, childList: true })
    })
    const p = await ctx.newPage()
    p.on('pageerror', (e) => pageErrors.push(e.message))
    await p.goto(`${url}/?token=${token}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    return p
  }
  const rowNames = (p: Page) =>
    p
      .locator('[data-testid="overview-table"] tbody tr[data-testid^="overview-row-"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.replace('overview-row-', '')))
  /** A fresh load of the app (the token is kept by the browser), so each test stands alone. */
  const reload = async () => {
    await page.goto(`${base}/`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
  }
  const label = async (name: string) => api<ApiLabel>('GET', `/api/labels/${name}`)

  beforeAll(async () => {
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    browser = await launchChromium()
    page = await open(base)
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  it('lands on a table of every label with its group, method, schedule, last run, coverage and next run', async () => {
    await page.getByTestId('overview-table').waitFor()
    await until(async () => (await rowNames(page)).length === 6)
    const row = page.getByTestId('overview-row-spend_band')
    await row.locator('[data-testid="cell-state"]').filter({ hasText: 'succeeded' }).waitFor()
    const cells = await row.locator('td').allTextContents()
    expect(cells.join(' | ')).toContain('Value')
    expect(cells.join(' | ')).toContain('Behaviour distribution result')
    expect(cells.join(' | ')).toMatch(/\d+(\.\d)?%/) // coverage
    expect(cells.join(' | ')).toMatch(/ UTC/) // times in the workspace zone, named
    await expect(page.getByTestId('overview-counts').textContent()).resolves.toContain('6 labels')
  })

  it('scrolls sideways in a narrow window with the checkbox and label columns kept in view, the hidden side shaded', async () => {
    await page.setViewportSize({ width: 1000, height: 950 })
    try {
      const scroller = page.getByTestId('overview-scroll')
      const row = page.getByTestId('overview-row-spend_band')
      await until(() => scroller.evaluate((el) => el.scrollWidth > el.clientWidth + 100))
      // Columns hidden past the right edge: the edge is shaded, and stops being once scrolled to the end.
      const shade = () => page.getByTestId('overview-frame').evaluate((el) => getComputedStyle(el, '::after').opacity)
      await page.locator('[data-testid="overview-frame"].more-right').waitFor()
      await until(async () => (await shade()) === '1')
      await scroller.evaluate((el) => {
        el.scrollLeft = el.scrollWidth
      })
      await page.locator('[data-testid="overview-scroll"].scrolled').waitFor()
      await page.locator('[data-testid="overview-frame"]:not(.more-right)').waitFor()
      await until(async () => (await shade()) === '0')
      const view = (await scroller.boundingBox())!
      const next = (await row.getByTestId('cell-next').boundingBox())!
      const check = (await row.getByTestId('overview-select').boundingBox())!
      const link = (await row.getByTestId('overview-open').boundingBox())!
      expect(next.x + next.width).toBeLessThanOrEqual(view.x + view.width + 1) // scrolled to the end
      expect(check.x).toBeGreaterThanOrEqual(view.x) // still at the left edge
      expect(link.x).toBeGreaterThan(check.x + check.width)
      expect(link.x + link.width).toBeLessThan(view.x + view.width / 2)
      // Nothing scrolled under the label shows through it, and it is still the row's link.
      const hit = await page.evaluate(
        ([x, y]) => document.elementFromPoint(x!, y!)?.closest('[data-testid]')?.getAttribute('data-testid'),
        [link.x + 4, link.y + link.height / 2],
      )
      expect(hit).toBe('overview-open')
      mkdirSync(ARTIFACTS, { recursive: true })
      await page.screenshot({ path: join(ARTIFACTS, 'overview-scrolled-1000.png') })
    } finally {
      await page.setViewportSize({ width: 1400, height: 950 })
    }
  })

  it('sorts by a column either way and filters by text and run state', async () => {
    await page.getByTestId('sort-name').click()
    const asc = await rowNames(page)
    expect(asc[0]).toBe('customer_stage') // "Customer stage" first by display name
    await page.getByTestId('sort-name').click()
    expect(await rowNames(page)).toEqual([...asc].reverse())
    await expect(page.locator('th[data-col="name"]').getAttribute('aria-sort')).resolves.toBe('descending')
    await page.getByTestId('overview-filter').fill('spend')
    await until(async () => (await rowNames(page)).length === 2)
    expect((await rowNames(page)).sort()).toEqual(['spend_90d', 'spend_band'])
    await page.getByTestId('overview-filter').fill('')
    await page.getByTestId('overview-enabled').selectOption('disabled')
    await page.locator('[data-testid="overview-table"] td.hint').filter({ hasText: 'No label matches' }).waitFor()
    await page.getByTestId('overview-enabled').selectOption('')
    await until(async () => (await rowNames(page)).length === 6)
  })

  it('disables then enables the selected labels in bulk (through the shared document)', async () => {
    await page.getByTestId('overview-filter').fill('spend')
    await until(async () => (await rowNames(page)).length === 2)
    await page.getByTestId('overview-select-all').check()
    await page.getByTestId('bulk-disable').click()
    await until(async () => !(await label('spend_90d')).enabled && !(await label('spend_band')).enabled)
    await page
      .locator('[data-testid="overview-row-spend_band"] [data-testid="cell-next"]')
      .filter({ hasText: 'not scheduled' })
      .waitFor()
    expect((await label('customer_stage')).enabled).toBe(true) // filtered out: not selected
    await page.getByTestId('bulk-enable').click()
    await until(async () => (await label('spend_90d')).enabled && (await label('spend_band')).enabled)
    await page
      .locator('[data-testid="overview-row-spend_band"] [data-testid="cell-next"]')
      .filter({ hasText: 'UTC' })
      .waitFor()
    await page.getByTestId('overview-select-all').uncheck()
    await page.getByTestId('overview-filter').fill('')
  })

  it('shows a run started elsewhere as it happens, without a reload', async () => {
    const { runId } = await api<{ runId: string }>('POST', '/api/labels/spend_90d/calculate', {})
    await page.locator(`[data-testid="overview-row-spend_90d"][data-run="${runId}"][data-state="succeeded"]`).waitFor({
      timeout: 30_000,
    })
  })

  it('recalculates and moves selected labels in bulk, moving by the rules of dragging', async () => {
    await page.getByTestId('overview-filter').fill('favourite')
    await until(async () => (await rowNames(page)).length === 1)
    const before = await page.getByTestId('overview-row-favourite_category').getAttribute('data-run')
    await page.getByTestId('overview-select-all').check()
    await page.getByTestId('bulk-recalculate').click()
    await until(
      async () =>
        (await page.getByTestId('overview-row-favourite_category').getAttribute('data-run')) !== before &&
        (await page.getByTestId('overview-row-favourite_category').getAttribute('data-state')) === 'succeeded',
      30_000,
    )
    const groups = await api<{ groups: Array<{ id: string; name: string }> }>('GET', '/api/groups')
    const engagement = groups.groups.find((g) => g.name === 'Engagement')!
    await page.getByTestId('bulk-group').selectOption(engagement.id)
    await page.getByTestId('bulk-move').click()
    await until(async () => (await label('favourite_category')).groupId === engagement.id)
    await page.getByTestId('overview-row-favourite_category').locator('td').filter({ hasText: 'Engagement' }).waitFor()
    await page.getByTestId('overview-filter').fill('')
  })

  it('Back and Forward move between labels and the overview', async () => {
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('label-detail').filter({ hasText: 'Customer stage' }).waitFor()
    await page.getByTestId('label-row-spend_band').click()
    await page.getByTestId('label-detail').filter({ hasText: 'Spend band' }).waitFor()
    await page.goBack()
    await page.getByTestId('label-detail').filter({ hasText: 'Customer stage' }).waitFor()
    await page.goForward()
    await page.getByTestId('label-detail').filter({ hasText: 'Spend band' }).waitFor()
    await page.goBack()
    await page.goBack()
    await page.getByTestId('overview-table').waitFor()
    await page.getByTestId('home').click() // the same page: nothing breaks
    await page.getByTestId('overview-table').waitFor()
  })

  it('says what a wrong name must be, next to the field', async () => {
    await reload()
    await page.getByTestId('new-label').click()
    await page.getByTestId('field-name').fill('Bad Name')
    await page
      .getByTestId('error-name')
      .filter({ hasText: 'Name: lower-case letters, digits and _; start with a letter' })
      .waitFor()
    await page.getByTestId('discard-draft').click()
  })

  it('builds an and/or/not condition visually, and it saves', async () => {
    await reload()
    await page.getByTestId('new-label').click()
    await page.getByTestId('field-name').fill('builder_made')
    await page.getByTestId('field-display-name').fill('Built with the builder')
    const layer = page.getByTestId('layer-0')
    await layer.getByTestId('condition-kind').first().selectOption('all')
    await layer.getByTestId('condition-group').first().waitFor()
    await layer.getByTestId('condition-add-attribute').first().click()
    await layer.getByTestId('condition-negate').nth(1).click()
    await layer.getByTestId('condition-add-group').first().click() // all of … and (any of …)
    await expect(layer.locator('[data-testid="condition-group"][data-kind="any"]').count()).resolves.toBe(1)
    // Invalid JSON typed in a condition says so instead of being ignored.
    const nested = layer
      .locator('[data-testid="condition-group"][data-kind="any"] [data-testid="condition-kind"]')
      .first()
    await nested.selectOption('json')
    await layer.getByTestId('condition-json').fill('{"event": "purchase", ')
    await layer.getByTestId('condition-json-error').filter({ hasText: 'not valid JSON' }).waitFor()
    await layer.getByTestId('condition-json').fill('{"event":"purchase","op":"gte","value":2}')
    await expect(layer.getByTestId('condition-json-error').count()).resolves.toBe(0)
    await page.getByTestId('save-label').click()
    await page.getByTestId('label-detail').filter({ hasText: 'Built with the builder' }).waitFor({ timeout: 15_000 })
    const saved = (await label('builder_made')).rule as {
      values: Array<{ when: { all: Array<Record<string, unknown>> } }>
    }
    const all = saved.values[0]!.when.all
    expect(all).toHaveLength(3)
    expect(all[0]).toHaveProperty('event')
    expect(all[1]).toHaveProperty(['not', 'attribute'])
    expect(all[2]).toEqual({ any: [{ event: 'purchase', op: 'gte', value: 2 }] })
  })

  it('switches the data type when first/last takes a string property, so the label saves', async () => {
    await reload()
    await page.getByTestId('new-label').click()
    await page.getByTestId('field-name').fill('last_category')
    await page.getByTestId('field-display-name').fill('Last category viewed')
    await page.getByTestId('field-method').selectOption('first_last')
    await expect(page.getByTestId('field-data-type').inputValue()).resolves.toBe('date')
    await page.locator('[data-field="/rule/event"] select').selectOption('view_product')
    await page.locator('[data-field="/rule/property"] select').selectOption('category')
    await expect(page.getByTestId('field-data-type').inputValue()).resolves.toBe('string')
    await page.getByTestId('save-label').click()
    await page.getByTestId('label-detail').filter({ hasText: 'Last category viewed' }).waitFor({ timeout: 15_000 })
    expect((await label('last_category')).dataType).toBe('string')
  })

  it('an empty workspace says how to load data, and New label does not open on an error', async () => {
    const empty = await newServer('pglite', { clientDir: client.dir })
    try {
      await empty.app.listen({ port: 0, host: '127.0.0.1' })
      const addr = empty.app.server.address()
      const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
      const p = await open(url, tokens.admin)
      await p.getByTestId('empty-workspace').waitFor()
      await expect(p.getByTestId('load-data-commands').textContent()).resolves.toContain(`${url}/api/data/events`)
      await p.getByTestId('overview-empty').waitFor()
      await p.getByTestId('new-label').click()
      await p.getByTestId('editor-no-data').waitFor()
      await expect(p.getByTestId('field-method').inputValue()).resolves.toBe('import')
      await p.getByTestId('field-name').fill('imported')
      await p.getByTestId('field-display-name').fill('Imported')
      await p.getByTestId('save-label').click()
      await p.getByTestId('label-detail').filter({ hasText: 'Imported' }).waitFor({ timeout: 15_000 })
      // Nothing red on the way: no preview error and no rule error were shown.
      expect(await p.evaluate(() => (window as unknown as { redErrors: string[] }).redErrors)).toEqual([])
      await p.getByTestId('home').click()
      // Loading users, then events, from the page: the note changes, then goes.
      await p.getByTestId('upload-users').setInputFiles({
        name: 'users.ndjson',
        mimeType: 'application/x-ndjson',
        buffer: Buffer.from('{"user_id":"u1","properties":{"city":"Paris"}}\n'),
      })
      await p.getByTestId('upload-outcome').filter({ hasText: 'stored 1 users' }).waitFor()
      await p.getByTestId('empty-workspace').filter({ hasText: 'no events yet' }).waitFor()
      await p.getByTestId('upload-events').setInputFiles({
        name: 'events.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('user_id,event,time\nu1,purchase,2026-01-01T00:00:00Z\n'),
      })
      await p.getByTestId('toast-info').filter({ hasText: 'stored 1 events' }).waitFor()
      await p.getByTestId('empty-workspace').waitFor({ state: 'detached' })
      await p.context().close()
    } finally {
      await empty.close()
    }
  })

  it("shows another operator's edits in the row as they come, reading the runs again only for a schedule change", async () => {
    // The labels the tests above created are calculated first: a run that finishes reads the runs
    // again (its next run moves), which is not what this test counts (CI failed on it at load ~7).
    await runsSettled(api)
    await reload()
    const row = page.getByTestId('overview-row-last_purchase_at')
    await row.waitFor()
    await sleep(800) // the opening read, and one a run finished just before asked for, are over
    // Another row keeps its element: an edit builds its own label's row again, not the table.
    await page.getByTestId('overview-row-spend_90d').evaluate((el) => {
      ;(el as unknown as { kept?: boolean }).kept = true
    })
    const reads: string[] = []
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/labels' && r.method() === 'GET') reads.push(r.url())
    })
    // Through the REST API: the server writes the shared document; this page gets remote updates.
    await api('PATCH', '/api/labels/last_purchase_at', { displayName: 'Most recent purchase' })
    await row.getByTestId('overview-open').filter({ hasText: 'Most recent purchase' }).waitFor()
    const engagement = (await api<{ groups: Array<{ id: string; name: string }> }>('GET', '/api/groups')).groups.find(
      (g) => g.name === 'Engagement',
    )!
    await api('PATCH', `/api/groups/${engagement.id}`, { name: 'Attention' })
    await row
      .locator('td')
      .filter({ hasText: /^Attention$/ })
      .waitFor()
    await sleep(800) // longer than the wait that gathers changes before a read
    expect(reads).toEqual([])
    await api('PATCH', '/api/labels/last_purchase_at', { schedule: { kind: 'weekly', weekday: 3, at: '05:00' } })
    await row.locator('td').filter({ hasText: 'once every week on' }).waitFor()
    const { nextRunAt } = await api<{ nextRunAt: string }>('GET', '/api/labels/last_purchase_at')
    await row.locator(`[data-testid="cell-next"] time[datetime="${nextRunAt}"]`).waitFor()
    expect(reads.length).toBeGreaterThan(0)
    await api('PATCH', '/api/labels/last_purchase_at', { enabled: false })
    await row.locator('[data-testid="cell-enabled"]').filter({ hasText: 'disabled' }).waitFor()
    await row.locator('[data-testid="cell-next"]').filter({ hasText: 'not scheduled' }).waitFor()
    expect(
      await page
        .getByTestId('overview-row-spend_90d')
        .evaluate((el) => (el as unknown as { kept?: boolean }).kept === true),
    ).toBe(true)
    await api('PATCH', '/api/labels/last_purchase_at', {
      displayName: 'Last purchase',
      enabled: true,
      schedule: { kind: 'daily', at: '02:00' },
    })
    await api('PATCH', `/api/groups/${engagement.id}`, { name: 'Engagement' })
  })

  it('raised no page errors', () => {
    expect(pageErrors).toEqual([])
  })
})
