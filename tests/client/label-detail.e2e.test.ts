import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type * as Y from 'yjs'
import { demoUserId } from '../../engine/demo/index.ts'
import { compileWithCatalogue } from '../../engine/service.ts'
import { labelsOf } from '../../shared/doc/index.ts'
import { auth, tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, demoServer, editorApi, hasChromium, launchChromium, CHROMIUM } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the label detail browser tests (apt-get install -y chromium)`,
  )

/** A CSV `user_id,value` for demo customers `from`…`from+n-1`. */
const csvOf = (from: number, n: number, value: string, header = true) =>
  (header ? 'user_id,value\n' : '') + Array.from({ length: n }, (_, i) => `${demoUserId(from + i)},${value}\n`).join('')

describe.skipIf(!hasChromium)('label detail in headless Chromium: import upload, live results', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let ctx: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  const api = editorApi(() => server)
  /**
   * While set, every compiled statement first sleeps this many seconds (once, in a one-time filter):
   * the engine's real statement, made slow on purpose for the slow-run mark.
   */
  let sleepSeconds = 0

  const open = async (c: BrowserContext, token: string, label: string) => {
    const p = await c.newPage()
    p.on('pageerror', (e) => pageErrors.push(e.message))
    await p.goto(`${base}/?token=${token}`)
    await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    await p.getByTestId(`label-row-${label}`).click()
    await p.getByTestId('label-detail').waitFor()
    return p
  }

  /** The bars on screen: value → "N users (p%)" from each bar's tooltip. */
  const bars = (p: Page) =>
    p
      .locator('[data-testid="distribution-chart"] g.bar')
      .evaluateAll((els) =>
        Object.fromEntries(
          els.map((e) => [e.getAttribute('data-value'), (e.getAttribute('data-tip') ?? '').replace(/^[^:]*: /, '')]),
        ),
      )

  const summary = (p: Page) => p.getByTestId('distribution-summary').textContent()

  beforeAll(async () => {
    client = await buildClient()
    // Its demo labels are calculated. A statement of 300 ms or more is compared with the label's
    // previous run (1 s by default).
    ;({ server, base } = await demoServer(client.dir, 400, {
      slowStatementMs: 300,
      compile: async (def, ctx) => {
        const source = await compileWithCatalogue(def, ctx)
        if (sleepSeconds === 0) return source
        const sql = `SELECT q.* FROM (${source.sql}) AS q WHERE (SELECT 1 FROM pg_sleep(${sleepSeconds})) = 1`
        return { ...source, sql }
      },
    }))
    browser = await launchChromium()
    ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    page = await open(ctx, tokens.editor, 'vip_list')
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  it('offers the upload on import labels only, and replaces the values with the uploaded file', async () => {
    // The demo imported every 40th of 400 customers as VIPs.
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '10 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    expect(await bars(page)).toEqual({ true: '10 users (2.5%)' })
    const panel = page.getByTestId('import-panel')
    await panel.waitFor()
    await expect(page.getByTestId('import-upload').isDisabled()).resolves.toBe(true)

    await page.getByTestId('import-file').setInputFiles({
      name: 'vips.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(csvOf(0, 25, 'true') + csvOf(25, 5, 'false', false)),
    })
    await page.getByTestId('import-file-name').filter({ hasText: 'vips.csv' }).waitFor()
    // Hold the request a moment so the running state can be seen.
    let release = () => {}
    const held = new Promise<void>((r) => (release = r))
    await page.route('**/api/labels/*/import*', async (route) => {
      await held
      await route.continue()
    })
    await page.getByTestId('import-upload').click()
    await page.getByTestId('import-progress').waitFor()
    await expect(page.getByTestId('import-upload').isDisabled()).resolves.toBe(true)
    await expect(page.getByTestId('import-file').isDisabled()).resolves.toBe(true)
    release()
    await page.locator('[data-testid="import-result"][data-kind="stored"]').waitFor({ timeout: 30_000 })
    await page.unroute('**/api/labels/*/import*')
    expect(await page.getByTestId('import-progress').count()).toBe(0)
    // The stored file is done with: nothing to upload twice by mistake.
    await expect(page.getByTestId('import-upload').isDisabled()).resolves.toBe(true)
    expect(await page.getByTestId('import-result').textContent()).toContain(
      'Stored 30 values (replaced the previous values)',
    )
    // The run's live push redraws the distribution and the last run without a reload.
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '30 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    expect(await bars(page)).toEqual({ true: '25 users (6.3%)', false: '5 users (1.3%)' })
    await page.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor()
    const stored = await api<{ items: Array<{ value: unknown; users: number }> }>(
      'GET',
      '/api/labels/vip_list/distribution',
    )
    expect(stored.items).toEqual([
      expect.objectContaining({ value: true, users: 25 }),
      expect.objectContaining({ value: false, users: 5 }),
    ])
    await page.screenshot({ path: '/tmp/labels-import-stored.png', fullPage: true })

    // Labels of the other methods have no upload.
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('fact-method').filter({ hasText: 'Custom label values' }).waitFor()
    expect(await page.getByTestId('import-panel').count()).toBe(0)
    await page.getByTestId('label-row-vip_list').click()
    await page.getByTestId('import-panel').waitFor()
  })

  it('merges a file dropped onto the upload area', async () => {
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '30 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    // A real drop: a DataTransfer holding a File, dispatched on the drop area.
    const transfer = await page.evaluateHandle(
      (text) => {
        const dt = new DataTransfer()
        dt.items.add(new File([text], 'more-vips.csv', { type: 'text/csv' }))
        return dt
      },
      csvOf(100, 4, 'true', false) + `${demoUserId(0)},false\n`,
    )
    await page.getByTestId('import-drop').dispatchEvent('dragenter', { dataTransfer: transfer })
    await page.getByTestId('import-drop').dispatchEvent('drop', { dataTransfer: transfer })
    await page.getByTestId('import-file-name').filter({ hasText: 'more-vips.csv' }).waitFor()
    await page.getByTestId('import-mode-merge').click()
    await page.getByTestId('import-upload').click()
    await page
      .locator('[data-testid="import-result"][data-kind="stored"]')
      .filter({ hasText: 'Stored 5 values (merged into the current values)' })
      .waitFor({ timeout: 30_000 })
    // 30 kept, 4 added, customer 0 turned from true to false.
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '34 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    expect(await bars(page)).toEqual({ true: '28 users (7.0%)', false: '6 users (1.5%)' })
  })

  it('reports unknown users and bad values with their row numbers and stores nothing', async () => {
    const before = await api<{ runId: string; items: unknown[] }>('GET', '/api/labels/vip_list/distribution')
    const bad = [
      'user_id,value',
      `${demoUserId(1)},true`,
      'nobody-42,true',
      `${demoUserId(2)},maybe`,
      `${demoUserId(3)},0`,
    ].join('\n')
    await page.getByTestId('import-mode-replace').click()
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) })
    await page.getByTestId('import-upload').click()
    await page.locator('[data-testid="import-result"][data-kind="rejected"]').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('import-message').textContent()).toContain('2 invalid row(s); nothing was imported')
    const rows = await page
      .locator('[data-testid="import-errors"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    expect(rows).toEqual([
      ['2', 'unknown user_id "nobody-42"'],
      ['3', '"maybe" is not a boolean (true/false/1/0)'],
    ])
    // The rejected import is a failed run; the results stay as they were.
    await page.getByTestId('run-status').filter({ hasText: 'failed' }).waitFor({ timeout: 10_000 })
    expect(await summary(page)).toContain('34 of 400 users covered')
    const after = await api<{ runId: string; items: unknown[] }>('GET', '/api/labels/vip_list/distribution')
    expect(after).toEqual(before)
    await page.screenshot({ path: '/tmp/labels-import-rejected.png', fullPage: true })
  })

  /** The Row/Problem table's rows as [row, problem]. */
  const errorRows = (p: Page) =>
    p
      .locator('[data-testid="import-errors"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))

  it('with "Skip invalid rows" ticked, stores the good rows and lists the skipped ones; unticked, refuses the whole file again', async () => {
    const bad = [
      'user_id,value',
      `${demoUserId(1)},true`,
      'nobody-42,true',
      `${demoUserId(2)},maybe`,
      `${demoUserId(3)},0`,
    ].join('\n')
    const requests: string[] = []
    const onRequest = (r: { url(): string }) => {
      if (r.url().includes('/import')) requests.push(new URL(r.url()).search)
    }
    page.on('request', onRequest)
    await page.getByTestId('import-mode-replace').click()
    await page.getByTestId('import-skip-invalid').check()
    expect(await page.getByTestId('import-panel').locator('p.hint').first().textContent()).toContain(
      'Bad rows are skipped and listed; the good ones are stored.',
    )
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) })
    await page.getByTestId('import-upload').click()
    await page.locator('[data-testid="import-result"][data-kind="stored"]').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('import-message').textContent()).toBe(
      'Stored 2 values; 2 rows were skipped (replaced the previous values).',
    )
    expect(await page.getByTestId('import-result').textContent()).not.toContain('the first')
    expect(await errorRows(page)).toEqual([
      ['2', 'unknown user_id "nobody-42"'],
      ['3', '"maybe" is not a boolean (true/false/1/0)'],
    ])
    // The good rows replaced the 34 values: customer 1 true, customer 3 false.
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '2 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    expect(Object.keys(await bars(page)).sort()).toEqual(['false', 'true'])
    expect(Object.values(await bars(page)).map((t) => String(t).split(' ')[0])).toEqual(['1', '1'])
    await page.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 10_000 })
    const stored = await api<{ items: Array<{ value: unknown; users: number }> }>(
      'GET',
      '/api/labels/vip_list/distribution',
    )
    expect(stored.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ value: true, users: 1 }),
        expect.objectContaining({ value: false, users: 1 }),
      ]),
    )
    expect(stored.items).toHaveLength(2)
    await page.screenshot({ path: '/tmp/labels-import-skipped.png', fullPage: true })

    // More bad rows than the server lists: the count is every bad row, the table the first 100.
    const many = [
      'user_id,value',
      `${demoUserId(5)},true`,
      ...Array.from({ length: 130 }, (_, i) => `ghost-${i},true`),
    ].join('\n')
    await page.getByTestId('import-mode-merge').click()
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'many.csv', mimeType: 'text/csv', buffer: Buffer.from(many) })
    await page.getByTestId('import-upload').click()
    await page
      .locator('[data-testid="import-result"][data-kind="stored"]')
      .filter({ hasText: 'merged' })
      .waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('import-message').textContent()).toBe(
      'Stored 1 value; 130 rows were skipped (merged into the current values).',
    )
    expect(await page.getByTestId('import-result').textContent()).toContain('Skipped rows (the first 100 are listed):')
    expect(await page.locator('[data-testid="import-errors"] tbody tr').count()).toBe(100)
    await page
      .getByTestId('distribution-summary')
      .filter({ hasText: '3 of 400 users covered' })
      .waitFor({ timeout: 20_000 })

    // Unticked, the same bad file stores nothing again.
    const before = await api<{ runId: string; items: unknown[] }>('GET', '/api/labels/vip_list/distribution')
    await page.getByTestId('import-mode-replace').click()
    await page.getByTestId('import-skip-invalid').uncheck()
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) })
    await page.getByTestId('import-upload').click()
    await page.locator('[data-testid="import-result"][data-kind="rejected"]').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('import-message').textContent()).toContain(
      '2 invalid row(s); nothing was imported. Fix these rows and upload again, or tick "Skip invalid rows"',
    )
    expect(await errorRows(page)).toHaveLength(2)
    await page.getByTestId('run-status').filter({ hasText: 'failed' }).waitFor({ timeout: 10_000 })
    expect(await summary(page)).toContain('3 of 400 users covered')
    expect(await api<{ runId: string; items: unknown[] }>('GET', '/api/labels/vip_list/distribution')).toEqual(before)
    page.off('request', onRequest)
    expect(requests).toEqual(['?mode=replace&skipInvalid=true', '?mode=merge&skipInvalid=true', '?mode=replace'])
  })

  it("shows the server's message when the file is refused as a whole", async () => {
    await page
      .getByTestId('import-file')
      .setInputFiles({ name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('user_id,value\n') })
    await page.getByTestId('import-upload').click()
    await page.locator('[data-testid="import-result"][data-kind="rejected"]').waitFor({ timeout: 30_000 })
    expect(await page.locator('[data-testid="import-errors"] tbody tr').allTextContents()).toEqual([
      'whole filethe file has no data rows',
    ])
  })

  /** Every read of a label's distribution or history the page makes, as path?query. */
  const resultReads = (p: Page) => {
    const reads: string[] = []
    p.on('request', (r) => {
      const u = new URL(r.url())
      if (/^\/api\/labels\/[^/]+\/(distribution|history)$/.test(u.pathname)) reads.push(u.pathname + u.search)
    })
    return reads
  }
  const dupes = (reads: string[]) => reads.filter((r, i) => reads.indexOf(r) !== i)
  const today = new Date().toISOString().slice(0, 10)
  /** The history table's rows for one date: value → users. */
  const historyOn = (p: Page, date: string) =>
    p.locator('[data-testid="history-panel"] table.data tbody tr').evaluateAll(
      (trs, d) =>
        Object.fromEntries(
          trs
            .map((tr) => [...tr.querySelectorAll('td')].map((td) => td.dataset.date ?? td.textContent ?? ''))
            .filter((c) => c[0] === d)
            .map((c) => [c[1], c[2]]),
        ),
      date,
    )

  it('after a run succeeds, shows the pushed distribution and history without reading either again', async () => {
    const p = await ctx.newPage()
    p.on('pageerror', (e) => pageErrors.push(e.message))
    const reads = resultReads(p)
    await p.goto(`${base}/?token=${tokens.editor}`)
    await p.getByTestId('label-row-vip_list').click()
    await p.getByTestId('distribution-summary').filter({ hasText: 'users covered' }).waitFor({ timeout: 20_000 })
    await p.locator('[data-testid="history-chart"] svg').waitFor()
    await p.waitForTimeout(500)
    // Opening the label reads each once.
    expect(reads.filter((r) => r.includes('/distribution'))).toHaveLength(1)
    expect(reads.filter((r) => r.includes('/history'))).toHaveLength(1)
    reads.length = 0

    const r = await server.app.inject({
      method: 'POST',
      url: '/api/labels/vip_list/import?mode=replace',
      headers: { ...auth('editor'), 'content-type': 'text/csv' },
      payload: csvOf(200, 50, 'true'),
    })
    expect(r.statusCode).toBe(200)
    await p
      .getByTestId('distribution-summary')
      .filter({ hasText: '50 of 400 users covered' })
      .waitFor({ timeout: 20_000 })
    await until(async () => (await historyOn(p, today)).true === '50', 20_000)
    await p.waitForTimeout(1500)
    expect(dupes(reads)).toEqual([])
    // The panels' default queries are answered by the pushes themselves.
    expect(reads).toEqual([])
    // What the push put on screen is what the server answers for the panel's own query.
    const fresh = await api<{ items: Array<{ value: unknown; users: number }> }>(
      'GET',
      '/api/labels/vip_list/distribution?top=10&sort=users&order=desc',
    )
    expect(await bars(p)).toEqual(
      Object.fromEntries(
        fresh.items.map((i) => [String(i.value), `${i.users} users (${((i.users / 400) * 100).toFixed(1)}%)`]),
      ),
    )
    expect(await historyOn(p, today)).toEqual({ true: '50' })
    await p.close()
  })

  it('after a recalculation, reads the distribution once with its own query when the push does not answer it', async () => {
    const reads = resultReads(page)
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('fact-method').filter({ hasText: 'Custom label values' }).waitFor()
    await page.getByTestId('sort').selectOption('value-asc')
    await until(async () => {
      const values = await page
        .locator('[data-testid="distribution-chart"] g.bar')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-value') ?? ''))
      return values.length > 1 && values.join('\n') === [...values].sort().join('\n')
    }, 20_000)
    await page.locator('[data-testid="history-chart"] svg').waitFor()
    await page.waitForTimeout(500)
    reads.length = 0
    const before = Number(await page.getByTestId('distribution-summary').getAttribute('data-live'))
    const { runId } = await api<{ runId: string }>('POST', '/api/labels/customer_stage/calculate', {})
    await until(async () => (await api<{ status: string }>('GET', `/api/runs/${runId}`)).status === 'succeeded', 30_000)
    await until(
      async () => Number(await page.getByTestId('distribution-summary').getAttribute('data-live')) > before,
      20_000,
    )
    await page.waitForTimeout(1500)
    expect(dupes(reads)).toEqual([])
    expect(reads).toHaveLength(1)
    expect(reads[0]).toMatch(/\/distribution\?top=10&sort=value&order=asc$/)
    // A value chip filters the range already read.
    reads.length = 0
    const chip = page.locator('[data-testid="history-panel"] .chips .chip').first()
    const value = (await chip.textContent()) ?? ''
    await chip.click()
    await until(async () => {
      const shown = await page
        .locator('[data-testid="history-panel"] table.data tbody tr td:nth-child(2)')
        .allTextContents()
      return shown.length > 0 && shown.every((v) => v === value)
    }, 10_000)
    await page.locator('[data-testid="history-panel"] .chip.clear').click()
    expect(reads).toEqual([])
    await page.getByTestId('sort').selectOption('users-desc')
    await page.getByTestId('label-row-vip_list').click()
    await page.getByTestId('import-panel').waitFor()
  })

  it('opens a label from an address #/labels/<id or name>; an id wins over a name equal to it', async () => {
    const vip = await api<{ id: string }>('GET', '/api/labels/vip_list')
    // Names may look like ids, but not another label's: REST refuses it (409)…
    await expect(
      api('POST', '/api/labels', {
        name: vip.id,
        displayName: 'Impostor',
        dataType: 'boolean',
        labelType: 'static',
        rule: { method: 'import' },
      }),
    ).rejects.toThrow(/→ 409 .*"path":"\/name"/)
    // …yet a document may hold one (written before that rule): the id still wins in an address.
    const impostor = await api<{ id: string }>('POST', '/api/labels', {
      name: 'impostor',
      displayName: 'Impostor',
      dataType: 'boolean',
      labelType: 'static',
      rule: { method: 'import' },
    })
    const live = await server.app.collab.get('main')
    ;(labelsOf(live.doc).get(impostor.id) as Y.Map<unknown>).set('name', vip.id)
    const p = await ctx.newPage()
    p.on('pageerror', (e) => pageErrors.push(e.message))
    const shown = async () => {
      await p.getByTestId('label-detail').waitFor({ timeout: 20_000 })
      return p.locator('[data-testid="label-detail"] .label-name').textContent()
    }
    try {
      await p.goto(`${base}/?token=${tokens.editor}#/labels/vip_list`)
      expect(await shown()).toBe('vip_list')
      expect(await p.getByTestId('label-row-vip_list').getAttribute('class')).toContain('selected')
      expect(new URL(p.url()).hash).toBe('#/labels/vip_list')
      expect(new URL(p.url()).searchParams.get('token')).toBeNull()

      // A link within the app changes only the hash.
      await p.evaluate(() => (location.hash = '#/labels/customer_stage'))
      await p.locator('[data-testid="label-detail"] .label-name').filter({ hasText: 'customer_stage' }).waitFor()
      expect(await p.getByTestId('label-row-customer_stage').getAttribute('class')).toContain('selected')

      // By id, on a fresh load; vip_list's id is also the impostor's name, and the id wins.
      const load = async (ref: string) => {
        await p.goto(`${base}/#/labels/${ref}`) // only the hash differs: no load yet
        await p.reload()
        return shown()
      }
      expect(await load(vip.id)).toBe('vip_list')
      expect(await load(impostor.id)).toBe(vip.id)

      await p.evaluate(() => (location.hash = '#/labels/no_such_label'))
      await p.getByTestId('no-label').filter({ hasText: 'There is no label "no_such_label"' }).waitFor()
      expect(await p.getByTestId('label-detail').count()).toBe(0)
    } finally {
      await p.close()
      await api('DELETE', `/api/labels/${impostor.id}`)
    }
  })

  it("shows how long a run took, and for a slow one what was slow and the statement's plan", async () => {
    const p = await open(ctx, tokens.editor, 'spend_90d')
    await p.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20_000 })
    await expect(p.getByTestId('run-length').textContent()).resolves.toMatch(/^took \d[\d.,]* (ms|s)$/)
    expect(await p.getByTestId('run-length').getAttribute('title')).toMatch(/compute and write \d/)
    // And whom it computed: the demo's first run of the label had no results to start from.
    expect(await p.getByTestId('run-length').getAttribute('title')).toMatch(
      / — computed (every customer: .+|the [\d,]+ changed customers; the others kept their values)$/,
    )
    expect(await p.getByTestId('run-slow').count()).toBe(0)
    // Two seconds: ten times the demo's first run of this label even on a busy machine.
    sleepSeconds = 2
    let runId = ''
    try {
      runId = (await api<{ runId: string }>('POST', '/api/labels/spend_90d/calculate', {})).runId
      await until(
        async () => (await api<{ status: string }>('GET', `/api/runs/${runId}`)).status === 'succeeded',
        30_000,
      )
    } finally {
      sleepSeconds = 0
    }
    const slow = p.getByTestId('run-slow')
    await slow.waitFor({ timeout: 20_000 })
    await expect(p.getByTestId('run-length').textContent()).resolves.toMatch(/^took [23](\.\d)? s$/)
    expect(await slow.getAttribute('title')).toMatch(
      /^A statement computing and writing the values took 2(\.\d)? s, against .* in the label's previous run\.$/,
    )
    await slow.click()
    const plan = p.getByTestId('run-plan-text')
    await plan.waitFor({ timeout: 20_000 })
    // EXPLAIN's text of the run's slow statement, read from GET /api/runs/:runId/plan.
    await expect(plan.textContent()).resolves.toMatch(/^Insert on res_\d+/)
    await expect(plan.textContent()).resolves.toMatch(/pg_sleep/)
    const stored = await api<{ plan: string }>('GET', `/api/runs/${runId}/plan`)
    expect(await plan.textContent()).toBe(stored.plan)
    await slow.click()
    expect(await p.getByTestId('run-plan').count()).toBe(0)
    await p.close()
  })

  it('gives viewers no upload control', async () => {
    const vctx = await browser.newContext()
    const v = await open(vctx, tokens.viewer, 'vip_list')
    await v.getByTestId('fact-method').filter({ hasText: 'Import' }).waitFor()
    await v.getByTestId('distribution-summary').waitFor({ timeout: 20_000 })
    expect(await v.getByTestId('import-panel').count()).toBe(0)
    expect(await v.getByTestId('import-file').count()).toBe(0)
    // And the server refuses them anyway.
    const r = await server.app.inject({
      method: 'POST',
      url: '/api/labels/vip_list/import',
      headers: { ...auth('viewer'), 'content-type': 'text/csv' },
      payload: csvOf(0, 1, 'true'),
    })
    expect(r.statusCode).toBe(403)
    await vctx.close()
    expect(pageErrors).toEqual([])
  })
})
