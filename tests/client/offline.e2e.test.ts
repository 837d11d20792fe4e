import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { CustomRule } from '../../shared/schemas/rule.ts'
import { tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, demoServer, editorApi, hasChromium, launchChromium, CHROMIUM } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the offline end-to-end test (apt-get install -y chromium)`,
  )

const artifacts = resolve(import.meta.dirname, '../artifacts')

const OFFLINE_DISPLAY_NAME = 'Customer stage (edited offline)'
const OFFLINE_LAYER_VALUE = 'recent buyer'
const ONLINE_LAYER_VALUE = 'window shopper'

type Groups = { groups: Array<{ id: string; name: string; parentId: string | null }> }

// Offline work and undo, in two headless Chromium contexts against a real server: A goes
// offline, edits the tree and a label's draft, reloads while offline (service worker +
// IndexedDB), comes back; B, which edited the same draft meanwhile, sees everything and
// publishes the draft. Each test builds on the previous one's state.
describe.skipIf(!hasChromium)('offline work and undo in headless Chromium', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let ctxA: BrowserContext
  let ctxB: BrowserContext
  let a: Page
  let b: Page
  const pageErrors: string[] = []
  const consoleErrors: string[] = []
  const api = editorApi(() => server)
  const groupId = async (name: string) =>
    (await api<Groups>('GET', '/api/groups')).groups.find((g) => g.name === name)?.id ?? null
  const labelIn = (page: Page, group: string, label: string) =>
    page.locator(`[data-testid="label-row-${label}"][data-group="${group}"]`)
  const createGroupIn = async (page: Page, name: string) => {
    await page.getByTestId('new-group').click()
    await page.getByTestId('new-group-name').fill(name)
    await page.getByTestId('new-group-name').press('Enter')
    await page.getByTestId(`group-row-${name}`).waitFor()
  }

  const openEditor = async (page: Page, label: string) => {
    await page.getByTestId(`label-row-${label}`).click()
    await page.getByTestId('edit-label').click()
    await page.getByTestId('label-editor').waitFor()
    await page.getByTestId('draft-info').waitFor()
  }

  const open = async (ctx: BrowserContext, token: string) => {
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(`${e.message} ${e.stack ?? ''}`.slice(0, 600)))
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text().slice(0, 600)))
    await page.goto(`${base}/?token=${token}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    return page
  }

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true })
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    browser = await launchChromium()
    ctxA = await browser.newContext({ viewport: { width: 1300, height: 850 } })
    ctxB = await browser.newContext({ viewport: { width: 1200, height: 800 } })
    a = await open(ctxA, tokens.editor)
    b = await open(ctxB, tokens.admin)
  }, 180_000)

  // Each test builds on the previous one's state: when one fails, say what the pages reported.
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail')
      console.warn('[tests/client] offline test failed; page errors:', pageErrors, 'console errors:', consoleErrors)
  })

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  it('installs the app-shell service worker, which takes control of the page', async () => {
    await until(() => a.evaluate(() => navigator.serviceWorker.controller !== null), 60_000)
    const cached = await a.evaluate(async () => {
      const keys = await caches.keys()
      const c = await caches.open(keys.find((k) => k.startsWith('labels-shell-'))!)
      return (await c.keys()).map((r) => new URL(r.url).pathname)
    })
    expect(cached).toContain('/')
    expect(cached.some((p) => /^\/assets\/index-.*\.js$/.test(p))).toBe(true)
    expect(cached.some((p) => p.endsWith('.wasm'))).toBe(true) // the preview's PGlite, for offline previews
  })

  it("keeps the preview's customer sample in IndexedDB (a PGlite tarball) once loaded", async () => {
    await a.getByTestId('label-row-customer_stage').click()
    await a.getByTestId('edit-label').click()
    await a.getByTestId('preview-summary').filter({ hasText: 'of 400 covered' }).waitFor({ timeout: 120_000 })
    await until(() => a.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('labels.preview.'))), 30_000)
    await a.getByTestId('close-editor').click()
  }, 150_000)

  it('goes offline: the socket really closes, a banner says so, and tree edits go on', async () => {
    await ctxA.setOffline(true)
    await a.getByTestId('offline-banner').waitFor({ timeout: 10_000 })
    // The page closed its collab socket (Chromium's offline emulation leaves an open one be).
    await a.getByTestId('sync-status').filter({ hasText: 'offline' }).waitFor()
    await createGroupIn(a, 'Offline work')
    await a.getByTestId('label-row-vip_list').dragTo(a.getByTestId('group-row-Offline work'))
    await labelIn(a, 'Offline work', 'vip_list').waitFor()
    await createGroupIn(a, 'Offline two')
    await a.getByTestId('offline-pending').filter({ hasText: '3 changes wait' }).waitFor()
    // Meanwhile B, online, edits too; neither side's edits cross while A is offline.
    await createGroupIn(b, 'Online meanwhile')
    await until(() => groupId('Online meanwhile'))
    expect(await groupId('Offline work')).toBeNull()
    expect(await a.getByTestId('group-row-Online meanwhile').count()).toBe(0)
  })

  it('reloads while offline: the app opens from the service worker and IndexedDB with the edits and the banner', async () => {
    const res = await a.reload()
    expect(res?.fromServiceWorker()).toBe(true)
    await labelIn(a, 'Offline work', 'vip_list').waitFor({ timeout: 20_000 })
    await a.getByTestId('group-row-Offline two').waitFor()
    await a.getByTestId('offline-pending').filter({ hasText: '3 changes wait' }).waitFor()
    await a.getByTestId('offline-since').waitFor()
    expect(await a.getByTestId('group-row-Online meanwhile').count()).toBe(0)
    // Edits still go on after the reload; things that need the server are disabled, with a reason.
    await a.getByTestId('label-row-spend_band').dragTo(a.getByTestId('group-row-Offline two'))
    await labelIn(a, 'Offline two', 'spend_band').waitFor()
    await a.getByTestId('offline-pending').filter({ hasText: '4 changes wait' }).waitFor()
    await a.getByTestId('label-row-customer_stage').click()
    const recalc = a.getByTestId('recalculate')
    await recalc.waitFor().catch(async (e: unknown) => {
      await a.screenshot({ path: join(artifacts, 'offline-detail-failed.png') })
      throw e
    })
    expect(await recalc.isDisabled()).toBe(true)
    expect(await recalc.getAttribute('title')).toContain('needs the server')
    expect(await a.getByTestId('undo').isDisabled()).toBe(false)
    // The in-browser preview runs offline on the kept workspace sample (not the demo shop).
    await a.getByTestId('edit-label').click()
    await a.getByTestId('preview-summary').filter({ hasText: 'of 400 covered' }).waitFor({ timeout: 60_000 })
    expect(await a.getByTestId('preview-source').textContent()).toMatch(/^sample: 400 of 400 customers/)
    expect(await a.getByTestId('preview-server').isDisabled()).toBe(true)
    expect(await a.getByTestId('save-label').isDisabled()).toBe(true)
    await a.getByTestId('close-editor').click()
    await a.getByTestId('offline-banner').screenshot({ path: join(artifacts, 'offline-banner.png') })
    await a.screenshot({ path: join(artifacts, 'offline-page.png') })
  })

  it('edits a draft offline (Edit: display name and a rule value), reloads offline, and the draft edit and its tree badge are still there', async () => {
    const pendingBefore = Number(await a.getByTestId('offline-banner').getAttribute('data-pending'))
    await openEditor(a, 'customer_stage')
    await a.getByTestId('field-display-name').fill(OFFLINE_DISPLAY_NAME)
    await a.getByTestId('layer-value-0').fill(OFFLINE_LAYER_VALUE)
    await a.getByTestId('layer-value-0').dispatchEvent('change')
    await a
      .getByTestId('draft-info')
      .filter({ hasText: 'changed:' })
      .filter({ hasText: 'displayName' })
      .filter({ hasText: 'rule' })
      .waitFor()
    // Publishing needs the server; closing keeps the draft (it has edits).
    expect(await a.getByTestId('save-label').isDisabled()).toBe(true)
    await a.getByTestId('keep-draft').click()
    await a.getByTestId('label-editor').waitFor({ state: 'detached' })
    await a.getByTestId('draft-badge-customer_stage').filter({ hasText: 'eve' }).waitFor()
    await until(async () => Number(await a.getByTestId('offline-banner').getAttribute('data-pending')) > pendingBefore)
    const pending = Number(await a.getByTestId('offline-banner').getAttribute('data-pending'))
    // Nothing reached the server.
    expect(
      (
        await server.app.inject({
          url: '/api/labels/customer_stage/draft',
          headers: { authorization: `Bearer ${tokens.viewer}` },
        })
      ).statusCode,
    ).toBe(404)

    const res = await a.reload()
    expect(res?.fromServiceWorker()).toBe(true)
    await a.getByTestId('draft-badge-customer_stage').filter({ hasText: 'eve' }).waitFor({ timeout: 20_000 })
    await labelIn(a, 'Offline work', 'vip_list').waitFor() // the tree edits too
    expect(Number(await a.getByTestId('offline-banner').getAttribute('data-pending'))).toBe(pending)
    await openEditor(a, 'customer_stage')
    expect(await a.getByTestId('field-display-name').inputValue()).toBe(OFFLINE_DISPLAY_NAME)
    expect(await a.getByTestId('layer-value-0').inputValue()).toBe(OFFLINE_LAYER_VALUE)
    expect(await a.getByTestId('save-label').isDisabled()).toBe(true)
    await a.screenshot({ path: join(artifacts, 'offline-draft-editor.png') })
    await a.getByTestId('keep-draft').click()
    await a.getByTestId('label-editor').waitFor({ state: 'detached' })
    await a.getByTestId('draft-badge-customer_stage').waitFor()

    // Meanwhile B, online, opens the same label's draft (its own, as A's is not on the server)
    // and edits another layer; nothing crosses while A is offline.
    await openEditor(b, 'customer_stage')
    expect(await b.getByTestId('field-display-name').inputValue()).toBe('Customer stage')
    await b.getByTestId('layer-value-2').fill(ONLINE_LAYER_VALUE)
    await b.getByTestId('layer-value-2').dispatchEvent('change')
    await b.getByTestId('keep-draft').click()
    await b.getByTestId('draft-badge-customer_stage').filter({ hasText: 'ada' }).waitFor()
    await until(
      async () =>
        (
          await server.app.inject({
            url: '/api/labels/customer_stage/draft',
            headers: { authorization: `Bearer ${tokens.viewer}` },
          })
        ).statusCode === 200,
      10_000,
    )
    expect(await a.getByTestId('draft-badge-customer_stage').textContent()).not.toContain('ada')
  })

  it('keeps an edit made just before a reload whose write to IndexedDB never committed', async () => {
    // As a write started while a page unloads may never commit: from now on this page's writes to
    // the workspace's copy are aborted. Only localStorage (client/sync/local-store.ts unsavedKey) has the edit then.
    await a.evaluate(() => {
      const add = IDBObjectStore.prototype.add
      IDBObjectStore.prototype.add = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['add']>) {
        const req = add.apply(this, args)
        if (this.transaction.db.name.startsWith('labels-workspace-')) this.transaction.abort()
        return req
      }
    })
    const unsaved = () => a.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('labels-unsaved-')))
    await createGroupIn(a, 'Kept at unload')
    await a.waitForTimeout(500) // the batched write (100 ms) was tried, and aborted
    expect(await unsaved()).toEqual([])
    const res = await a.reload()
    expect(res?.fromServiceWorker()).toBe(true)
    await a.getByTestId('group-row-Kept at unload').waitFor({ timeout: 20_000 })
    await labelIn(a, 'Offline work', 'vip_list').waitFor() // with everything stored before
    // Written to the copy by the new page, then forgotten in localStorage.
    await until(async () => (await unsaved()).length === 0, 10_000)
  })

  it('comes back online: everything merges both ways, nothing lost', async () => {
    await ctxA.setOffline(false)
    await a.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    await a.getByTestId('offline-banner').waitFor({ state: 'detached' })
    await a.getByTestId('group-row-Online meanwhile').waitFor({ timeout: 10_000 })
    await labelIn(b, 'Offline work', 'vip_list').waitFor({ timeout: 10_000 })
    await labelIn(b, 'Offline two', 'spend_band').waitFor({ timeout: 10_000 })
    const offlineWork = await until(() => groupId('Offline work'))
    expect((await api<{ groupId: string }>('GET', '/api/labels/vip_list')).groupId).toBe(offlineWork)
    expect(await groupId('Online meanwhile')).not.toBeNull()
    await until(() => groupId('Kept at unload'), 10_000) // the edit kept in localStorage reached the server too
    expect(await a.getByTestId('recalculate').isDisabled()).toBe(false)
  })

  it("B sees A's offline draft edit once A is back, merged with its own, and publishing it puts every edited field on the label", async () => {
    // The two concurrently opened drafts of one label become one, with both operators' edits.
    await b
      .getByTestId('draft-badge-customer_stage')
      .filter({ hasText: 'eve' })
      .filter({ hasText: 'ada' })
      .waitFor({ timeout: 10_000 })
    await a
      .getByTestId('draft-badge-customer_stage')
      .filter({ hasText: 'eve' })
      .filter({ hasText: 'ada' })
      .waitFor({ timeout: 10_000 })
    const draft = await until(async () => {
      const r = await server.app.inject({
        url: '/api/labels/customer_stage/draft',
        headers: { authorization: `Bearer ${tokens.viewer}` },
      })
      if (r.statusCode !== 200) return null
      const d = JSON.parse(r.body) as { definition: { displayName: string; rule: CustomRule } }
      return d.definition.displayName === OFFLINE_DISPLAY_NAME &&
        d.definition.rule.values[0]!.value === OFFLINE_LAYER_VALUE &&
        d.definition.rule.values[2]!.value === ONLINE_LAYER_VALUE
        ? d
        : null
    }, 10_000).catch(async (e: unknown) => {
      const r = await server.app.inject({
        url: '/api/labels/customer_stage/draft',
        headers: { authorization: `Bearer ${tokens.viewer}` },
      })
      throw new Error(`${(e as Error).message}: the server's draft is ${r.statusCode} ${r.body}`)
    })
    expect(draft.definition.rule.values[1]!.value).toBe('lapsed buyer')
    // Still a draft: the label itself is unchanged until someone publishes.
    expect((await api<{ displayName: string }>('GET', '/api/labels/customer_stage')).displayName).toBe('Customer stage')
    // B opens the same draft and sees A's offline values, then publishes.
    await openEditor(b, 'customer_stage')
    expect(await b.getByTestId('field-display-name').inputValue()).toBe(OFFLINE_DISPLAY_NAME)
    expect(await b.getByTestId('layer-value-0').inputValue()).toBe(OFFLINE_LAYER_VALUE)
    expect(await b.getByTestId('layer-value-2').inputValue()).toBe(ONLINE_LAYER_VALUE)
    await b.getByTestId('save-label').click()
    await b.getByTestId('label-editor').waitFor({ state: 'detached', timeout: 20_000 })
    const published = await api<{ displayName: string; rule: CustomRule; groupId: string }>(
      'GET',
      '/api/labels/customer_stage',
    )
    expect(published.displayName).toBe(OFFLINE_DISPLAY_NAME)
    expect(published.rule.values[0]!.value).toBe(OFFLINE_LAYER_VALUE)
    expect(published.rule.values.slice(1).map((l) => l.value)).toEqual(['lapsed buyer', ONLINE_LAYER_VALUE])
    await a.getByTestId('draft-badge-customer_stage').waitFor({ state: 'detached', timeout: 10_000 })
    await b.getByTestId('draft-badge-customer_stage').waitFor({ state: 'detached', timeout: 10_000 })
    expect(
      (
        await server.app.inject({
          url: '/api/labels/customer_stage/draft',
          headers: { authorization: `Bearer ${tokens.viewer}` },
        })
      ).statusCode,
    ).toBe(404)
  })

  it("undoes only one's own edit: Ctrl+Z in A reverts A's last move, never B's concurrent edit", async () => {
    await a.getByTestId('label-row-spend_band').dragTo(a.getByTestId('group-row-Online meanwhile'))
    await labelIn(b, 'Online meanwhile', 'spend_band').waitFor({ timeout: 10_000 })
    await b.getByTestId('label-row-customer_stage').dragTo(b.getByTestId('group-row-Online meanwhile'))
    await labelIn(a, 'Online meanwhile', 'customer_stage').waitFor({ timeout: 10_000 })
    await a.locator('body').click({ position: { x: 5, y: 5 } }) // focus outside any text field
    await a.keyboard.press('Control+z')
    await labelIn(b, 'Offline two', 'spend_band').waitFor({ timeout: 10_000 })
    await labelIn(b, 'Online meanwhile', 'customer_stage').waitFor()
    await until(
      async () =>
        (await api<{ groupId: string }>('GET', '/api/labels/spend_band')).groupId === (await groupId('Offline two')),
    )
    expect((await api<{ groupId: string }>('GET', '/api/labels/customer_stage')).groupId).toBe(
      await groupId('Online meanwhile'),
    )
    // Redo with the header button puts it back.
    await a.getByTestId('redo').click()
    await labelIn(b, 'Online meanwhile', 'spend_band').waitFor({ timeout: 10_000 })
    expect(pageErrors).toEqual([])
  })
})
