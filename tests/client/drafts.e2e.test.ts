import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { CustomRule } from '../../shared/schemas/rule.ts'
import { tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, demoServer, editorApi, hasChromium, launchChromium, CHROMIUM } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the shared draft browser test (apt-get install -y chromium)`,
  )

const ARTIFACTS = resolve(import.meta.dirname, '../artifacts')

describe.skipIf(!hasChromium)('shared label drafts in headless Chromium, two operators', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let ctxA: BrowserContext
  let ctxB: BrowserContext
  let a: Page
  let b: Page
  const pageErrors: string[] = []
  const api = editorApi(() => server)

  const open = async (ctx: BrowserContext, token: string) => {
    const page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${base}/?token=${token}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    return page
  }
  const openEditor = async (p: Page, label: string) => {
    await p.getByTestId(`label-row-${label}`).click()
    await p.getByTestId('edit-label').click()
    await p.getByTestId('label-editor').waitFor()
    await p.getByTestId('draft-info').waitFor()
    return p.getByTestId('label-editor').getAttribute('data-draft-id')
  }
  const fieldValue = (p: Page, testId: string) => p.getByTestId(testId).inputValue()
  const draftGoneOnServer = (label: string, ms: number) =>
    until(
      async () =>
        (
          await server.app.inject({
            url: `/api/labels/${label}/draft`,
            headers: { authorization: `Bearer ${tokens.viewer}` },
          })
        ).statusCode === 404,
      ms,
    )

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    browser = await launchChromium()
    ctxA = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    ctxB = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    a = await open(ctxA, tokens.editor) // eve
    b = await open(ctxB, tokens.admin) // ada
  }, 180_000)

  afterAll(async () => {
    if (pageErrors.length) console.warn('[tests/client] page errors in the draft browser test:', pageErrors)
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  it('both edit different layers of one draft at the same moment, see each other live, and the published rule has both changes', async () => {
    const runsBefore = (await api<{ runs: unknown[] }>('GET', '/api/labels/customer_stage/runs')).runs.length
    const idA = await openEditor(a, 'customer_stage')
    const idB = await openEditor(b, 'customer_stage')
    expect(idA).toBeTruthy()
    expect(idB).toBe(idA) // the second operator joined the same draft

    // Each is in a different layer; the other's marker shows on that layer.
    await a.getByTestId('layer-value-0').click()
    // Different layers: nobody's change was overwritten, so nobody is told so.
    expect(await a.getByTestId('overwrite-notice').count()).toBe(0)
    expect(await b.getByTestId('overwrite-notice').count()).toBe(0)
    await b.getByTestId('layer-value-2').click()
    await a.locator('[data-field-mark="/rule/values/2"][data-peer="ada"]').waitFor({ timeout: 10_000 })
    await b.locator('[data-field-mark="/rule/values/0"][data-peer="eve"]').waitFor({ timeout: 10_000 })

    // Both commit their edit at the same moment.
    await Promise.all([
      a.getByTestId('layer-value-0').fill('recent buyer'),
      b.getByTestId('layer-value-2').fill('window shopper'),
    ])
    await Promise.all([
      a.getByTestId('layer-value-0').dispatchEvent('change'),
      b.getByTestId('layer-value-2').dispatchEvent('change'),
    ])
    await until(
      async () =>
        (await fieldValue(a, 'layer-value-2')) === 'window shopper' &&
        (await fieldValue(b, 'layer-value-0')) === 'recent buyer',
      30_000, // a loaded CI machine (two pages, each with its preview engine starting)
    )
    expect(await fieldValue(a, 'layer-value-0')).toBe('recent buyer')
    expect(await fieldValue(b, 'layer-value-2')).toBe('window shopper')

    // A draft is not the label: nothing published, nothing calculated; the tree marks it, with its editors.
    expect((await api<{ rule: CustomRule }>('GET', '/api/labels/customer_stage')).rule.values[0]!.value).toBe(
      'active buyer',
    )
    await a
      .getByTestId('draft-badge-customer_stage')
      .filter({ hasText: 'ada' })
      .filter({ hasText: 'eve' })
      .waitFor({ timeout: 10_000 })
    const draft = await api<{ definition: { rule: CustomRule }; authors: Record<string, string> }>(
      'GET',
      '/api/labels/customer_stage/draft',
    )
    expect(draft.definition.rule.values.map((l) => l.value)).toEqual(['recent buyer', 'lapsed buyer', 'window shopper'])
    expect(draft.authors['/rule/values/0/value']).toBe('eve')
    expect(draft.authors['/rule/values/2/value']).toBe('ada')

    // Different layers: nobody's change was overwritten, so nobody is told so.
    expect(await a.getByTestId('overwrite-notice').count()).toBe(0)
    expect(await b.getByTestId('overwrite-notice').count()).toBe(0)
    await b.getByTestId('layer-value-2').click()
    await a.locator('[data-field-mark="/rule/values/2"][data-peer="ada"]').waitFor({ timeout: 10_000 })
    await a.screenshot({ path: resolve(ARTIFACTS, 'draft-editor-two-operators.png') })

    await a.getByTestId('save-label').click()
    await a.getByTestId('label-editor').waitFor({ state: 'detached', timeout: 20_000 })
    await b.getByTestId('draft-closed').waitFor({ timeout: 10_000 }) // the other editor sees the draft is gone
    const published = await api<{ rule: CustomRule }>('GET', '/api/labels/customer_stage')
    expect(published.rule.values.map((l) => l.value)).toEqual(['recent buyer', 'lapsed buyer', 'window shopper'])
    // An edited rule recalculates.
    await until(
      async () => (await api<{ runs: unknown[] }>('GET', '/api/labels/customer_stage/runs')).runs.length > runsBefore,
      30_000,
    )
    await a.getByTestId('draft-badge-customer_stage').waitFor({ state: 'detached', timeout: 10_000 })
    await b.getByTestId('close-editor').click()
  })

  it('the operator whose edit of the same field lost is told who overwrote it; Discard drops the draft and leaves the label', async () => {
    // Independent of the test above: an editor it left open (when it failed) is closed first.
    for (const p of [a, b]) if (await p.getByTestId('close-editor').count()) await p.getByTestId('close-editor').click()
    await openEditor(a, 'spend_band')
    await openEditor(b, 'spend_band')
    await a.getByTestId('rule-boundaries').fill('1, 100, 600, 1500')
    await a.getByTestId('rule-boundaries').dispatchEvent('change')
    await until(async () => (await fieldValue(b, 'rule-boundaries')) === '1, 100, 600, 1500', 10_000)
    // B changes the same boundary after seeing A's value: A is told.
    await b.getByTestId('rule-boundaries').fill('1, 100, 700, 1500')
    await b.getByTestId('rule-boundaries').dispatchEvent('change')
    await a
      .getByTestId('overwrite-notice')
      .filter({ hasText: 'ada overwrote your change to Rule › boundaries' })
      .waitFor({ timeout: 10_000 })
    expect(await fieldValue(a, 'rule-boundaries')).toBe('1, 100, 700, 1500')
    // The notes (draft info, the notice) run across the top; below them the form is the left
    // column and the preview the right one, side by side, whatever notes come and go.
    const box = async (testId: string) => (await a.getByTestId(testId).boundingBox())!
    const [notice, form, preview] = [await box('overwrite-notice'), await box('label-form'), await box('preview-panel')]
    expect(notice.y + notice.height).toBeLessThanOrEqual(form.y)
    expect(form.x + form.width).toBeLessThanOrEqual(preview.x)
    expect(Math.abs(form.y - preview.y)).toBeLessThan(2)
    // The draft line stays one line as "changed" grows (a field committed on blur, as the pointer
    // goes down on Publish, must not move the buttons under it); the whole text is its tooltip.
    const info = a.getByTestId('draft-info')
    await a.setViewportSize({ width: 800, height: 1000 })
    expect((await info.boundingBox())!.height).toBeLessThan(22)
    await a.setViewportSize({ width: 1400, height: 1000 })
    expect(await info.getAttribute('title')).toContain('nothing is calculated until Publish')
    // Dismissed from the keyboard too.
    await a.getByTestId('dismiss-notice').focus()
    await a.keyboard.press('Enter')
    await a.getByTestId('overwrite-notice').waitFor({ state: 'detached' })
    expect(Math.abs((await box('label-form')).y - (await box('preview-panel')).y)).toBeLessThan(2)

    await a.getByTestId('discard-draft').click()
    await a.getByTestId('label-editor').waitFor({ state: 'detached' })
    await b.getByTestId('draft-closed').waitFor({ timeout: 10_000 })
    const label = await api<{ rule: { boundaries: number[] } }>('GET', '/api/labels/spend_band')
    expect(label.rule.boundaries).toEqual([1, 100, 500, 1500])
    await b.getByTestId('close-editor').click()

    // Opening Edit and closing without writing anything leaves no draft behind.
    await openEditor(a, 'spend_90d')
    await a.getByTestId('draft-badge-spend_90d').waitFor()
    await a.getByTestId('keep-draft').click()
    await a.getByTestId('draft-badge-spend_90d').waitFor({ state: 'detached', timeout: 10_000 })
    await draftGoneOnServer('spend_90d', 10_000)
    expect(pageErrors).toEqual([])
  })

  it("an edit made while another operator's change is in the document but not yet on the page keeps that change", async () => {
    for (const p of [a, b]) if (await p.getByTestId('close-editor').count()) await p.getByTestId('close-editor').click()
    await openEditor(a, 'customer_stage')
    await openEditor(b, 'customer_stage')
    const before = await fieldValue(a, 'layer-value-2')
    // A page renders others' edits at its next animation frame; on a busy machine that frame comes
    // late. Here A's frames are held (queued) until released, so B's edit is in A's document but not
    // in A's form when A edits.
    await a.evaluate(() => {
      const w = window as unknown as { __releaseFrames?: () => void }
      const raf = window.requestAnimationFrame.bind(window)
      const held: FrameRequestCallback[] = []
      window.requestAnimationFrame = (cb) => {
        held.push(cb)
        return 0
      }
      w.__releaseFrames = () => {
        window.requestAnimationFrame = raf
        for (const cb of held.splice(0)) raf(cb)
      }
    })
    await b.getByTestId('layer-value-2').fill('late frame')
    await b.getByTestId('layer-value-2').dispatchEvent('change')
    await until(async () => {
      const d = await api<{ definition: { rule: CustomRule } }>('GET', '/api/labels/customer_stage/draft')
      return d.definition.rule.values[2]!.value === 'late frame'
    }, 10_000)
    // The server's broadcast reaches A's document meanwhile (if it did not, A's edit is simply not
    // stale, and the checks below still hold).
    await new Promise((r) => setTimeout(r, 1000))
    expect(await fieldValue(a, 'layer-value-2')).toBe(before) // A's form has not shown it
    await a.getByTestId('layer-value-0').fill('edited on a stale view')
    await a.getByTestId('layer-value-0').dispatchEvent('change')
    await a.evaluate(() => (window as unknown as { __releaseFrames: () => void }).__releaseFrames())
    await until(
      async () =>
        (await fieldValue(a, 'layer-value-2')) === 'late frame' &&
        (await fieldValue(b, 'layer-value-0')) === 'edited on a stale view',
      20_000,
    )
    const draft = await api<{ definition: { rule: CustomRule } }>('GET', '/api/labels/customer_stage/draft')
    expect(draft.definition.rule.values.map((l) => l.value).filter((_, i) => i !== 1)).toEqual([
      'edited on a stale view',
      'late frame',
    ])
    expect(await b.getByTestId('overwrite-notice').count()).toBe(0)
    await a.getByTestId('discard-draft').click()
    await a.getByTestId('label-editor').waitFor({ state: 'detached' })
    // The discard reached the server (the draft is gone there), then the other page shows it closed.
    await draftGoneOnServer('customer_stage', 20_000)
    await b
      .getByTestId('draft-closed')
      .waitFor({ timeout: 20_000 })
      .catch(async (e: Error) => {
        const shown = await b.getByTestId('card-error').allTextContents() // an error caught by a boundary
        throw new Error(
          `${e.message}\npage errors: ${JSON.stringify(pageErrors)}; boundaries: ${JSON.stringify(shown)}`,
        )
      })
    await b.getByTestId('close-editor').click()
    expect(pageErrors).toEqual([])
  })

  it('an editor that fails closes and says why; the tree and the page go on', async () => {
    // A proxy answering the data schema with something that is not one: the editor can't be built.
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    await ctx.route('**/api/data/schema', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: '{"unexpected":true}' }),
    )
    const p = await ctx.newPage()
    const errors: string[] = []
    p.on('pageerror', (e) => errors.push(e.message))
    try {
      await p.goto(`${base}/?token=${tokens.editor}`)
      await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
      await p.getByTestId('label-row-spend_band').click()
      await p.getByTestId('edit-label').click()
      await p.getByTestId('toast-error').filter({ hasText: 'The label editor failed and was closed' }).waitFor()
      expect(await p.getByTestId('label-editor').count()).toBe(0)
      // The draft it opened had nothing in it: gone, as when an editor is closed unchanged (had it
      // stayed, the server would have it within this second).
      await p.waitForTimeout(1000)
      await draftGoneOnServer('spend_band', 1)
      expect(await p.getByTestId('draft-badge-spend_band').count()).toBe(0)
      // Still usable: another label opens; with the schema right again, so does the editor.
      await p.getByTestId('label-row-customer_stage').click()
      await p.getByTestId('label-detail').filter({ hasText: 'Customer stage' }).waitFor()
      await ctx.unroute('**/api/data/schema')
      await p.reload()
      await p.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
      await openEditor(p, 'spend_band')
      await p.getByTestId('keep-draft').click()
      await p.getByTestId('label-editor').waitFor({ state: 'detached' })
      await draftGoneOnServer('spend_band', 10_000)
      expect(errors).toEqual([])
    } finally {
      await ctx.close()
    }
  })
})
