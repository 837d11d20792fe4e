import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, CDPSession, Page } from 'playwright-core'
import type * as Y from 'yjs'
import type { WebsocketProvider } from 'y-websocket'
import { editDraft, projectDrafts, type DocOrigin } from '../../shared/doc/index.ts'
import { tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, demoServer, hasChromium, launchChromium, CHROMIUM, nodeOperator } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the draft editor load test (apt-get install -y chromium)`,
  )

/**
 * The draft editor under a stream of other operators' edits (issue 8: two Chromium editors with
 * ~90 draft edits/s grew past 4 GB and stopped answering). Each remote edit of a draft must
 * update only the changed field: the form's elements stay the same DOM nodes, nearly nothing is
 * added to the DOM, and the JS heap and the DOM node count stay bounded. Counts, not timings.
 */
describe.skipIf(!hasChromium)('draft editor under thousands of remote draft edits (Chromium)', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let page: Page
  let cdp: CDPSession
  let doc: Y.Doc
  let provider: WebsocketProvider
  const pageErrors: string[] = []

  beforeAll(async () => {
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    browser = await launchChromium()
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
    page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${base}/?token=${tokens.editor}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 })
    cdp = await ctx.newCDPSession(page)
    await cdp.send('Performance.enable')
    ;({ doc, provider } = await nodeOperator(base, tokens.admin))
  }, 180_000)

  afterAll(async () => {
    provider?.destroy()
    doc?.destroy()
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  const metrics = async () => {
    await cdp.send('HeapProfiler.collectGarbage')
    const { metrics: list } = await cdp.send('Performance.getMetrics')
    const m = Object.fromEntries(list.map((x) => [x.name, x.value]))
    return { heap: m['JSHeapUsedSize'] ?? 0, nodes: m['Nodes'] ?? 0, listeners: m['JSEventListeners'] ?? 0 }
  }

  it("keeps the form's DOM nodes and a bounded heap through 3,000 remote edits of the draft", async () => {
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('edit-label').click()
    await page.getByTestId('draft-info').waitFor()
    const draftId = (await page.getByTestId('label-editor').getAttribute('data-draft-id'))!
    await until(async () => projectDrafts(doc).byId[draftId] ?? null, 10_000)
    const rule = projectDrafts(doc).byId[draftId]!.definition.rule
    expect(rule.method).toBe('custom')
    const layers = rule.method === 'custom' ? rule.values.length : 0
    expect(layers).toBeGreaterThan(1)

    // Mark the form's elements, and count every element added to the editor from now on.
    await page.evaluate(() => {
      const w = window as unknown as { __added: number }
      w.__added = 0
      const editor = document.querySelector('[data-testid="label-editor"]')!
      for (const el of editor.querySelectorAll(
        '[data-testid^="layer-"], [data-testid^="field-"], [data-testid="rule-json"]',
      ))
        (el as unknown as { __mark: boolean }).__mark = true
      // The form's elements only: the preview beside it redraws its chart (~35 elements) each time
      // a run on the changed rule finishes, and how many finish depends on the machine's load.
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (n.nodeType === 1) w.__added += 1 + (n as Element).querySelectorAll('*').length
      }).observe(editor.querySelector('form.label-form')!, { childList: true, subtree: true })
    })
    const before = await metrics()

    // 3,000 edits by another operator, as typing arrives: one Yjs update (one socket frame) each.
    const origin: DocOrigin = { kind: 'local', actor: 'ada' }
    const edits = 3000
    const last = new Map<number, string>()
    for (let k = 0; k < edits; k++) {
      const layer = k % layers
      if (k % 4 === 3) editDraft(doc, draftId, [{ op: 'set', path: '/description', value: `typed ${k}` }], origin)
      else {
        editDraft(doc, draftId, [{ op: 'set', path: `/rule/values/${layer}/value`, value: `v${k}` }], origin)
        last.set(layer, `v${k}`)
      }
      if (k % 30 === 29) await new Promise((r) => setTimeout(r, 15))
    }
    // The page shows every layer's last value (it kept up and the form is live).
    await until(async () => {
      for (const [layer, v] of last)
        if ((await page.getByTestId(`layer-value-${layer}`).inputValue({ timeout: 60_000 })) !== v) return false
      return true
    }, 120_000)
    const after = await metrics()

    const kept = await page.evaluate(() => {
      const editor = document.querySelector('[data-testid="label-editor"]')!
      const els = [
        ...editor.querySelectorAll('[data-testid^="layer-"], [data-testid^="field-"], [data-testid="rule-json"]'),
      ]
      return {
        total: els.length,
        marked: els.filter((el) => (el as unknown as { __mark?: boolean }).__mark).length,
        added: (window as unknown as { __added: number }).__added,
      }
    })
    // Every layer row, layer input and field is still the element it was: nothing was rebuilt.
    expect(kept.total).toBeGreaterThan(layers * 2)
    expect(kept.marked).toBe(kept.total)
    // Fine-grained: an edit sets a value, it does not add elements (the old editor added ~500 per edit).
    expect(kept.added).toBeLessThan(edits / 10)
    // Bounded: what the page holds after a GC does not grow with the number of edits (a one-off
    // such as the preview's chart appearing once the edits pause may add a few hundred).
    expect(after.nodes).toBeLessThan(before.nodes + 3000)
    // Listeners include this page's pending IndexedDB writes (y-indexeddb stores each update):
    // after a burst they drain; what stays must not grow with the edits.
    await until(async () => (await metrics()).listeners < before.listeners + 1000, 60_000)
    expect(after.heap).toBeLessThan(before.heap + 20 * 1024 * 1024)
    expect(pageErrors).toEqual([])
  })
  // Opens customer_stage's draft in the page's editor (the test above may have left it open).
  const draftOpen = async (): Promise<{ draftId: string; layers: number }> => {
    if (!(await page.getByTestId('label-editor').isVisible())) {
      await page.getByTestId('label-row-customer_stage').click()
      await page.getByTestId('edit-label').click()
    }
    await page.getByTestId('draft-info').waitFor()
    const draftId = (await page.getByTestId('label-editor').getAttribute('data-draft-id'))!
    await until(async () => projectDrafts(doc).byId[draftId] ?? null, 10_000)
    const rule = projectDrafts(doc).byId[draftId]!.definition.rule
    return { draftId, layers: rule.method === 'custom' ? rule.values.length : 0 }
  }

  it('shows every remote edit, keeps the caret where the operator types, and renders a burst of remote edits in a few passes', async () => {
    const { draftId, layers } = await draftOpen()
    expect(layers).toBeGreaterThan(1)
    // Counts every value the page writes into a layer's input (one per rendering of a remote edit).
    await page.evaluate(() => {
      const w = window as unknown as { __layerSets: number }
      w.__layerSets = 0
      const d = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!
      Object.defineProperty(HTMLInputElement.prototype, 'value', {
        ...d,
        set(this: HTMLInputElement, v: string) {
          d.set!.call(this, v)
          if (this.dataset['testid']?.startsWith('layer-value-')) w.__layerSets++
        },
      })
    })
    const layerSets = () => page.evaluate(() => (window as unknown as { __layerSets: number }).__layerSets)
    const origin: DocOrigin = { kind: 'local', actor: 'ada' }
    const description = page.locator('[data-field="/description"] textarea')

    // The operator types in the middle of "Display name" while another operator's edits of every
    // layer and of the description arrive.
    const name = page.getByTestId('field-display-name')
    await name.fill('Stage')
    await name.press('Home')
    await name.press('ArrowRight')
    await name.press('ArrowRight')
    const last = new Map<number, string>()
    let remote = 0,
      lastDescription = ''
    for (const ch of 'XYZ') {
      for (let k = 0; k < 3 * layers; k++, remote++) {
        const layer = k % layers
        last.set(layer, `${ch}${k}`)
        editDraft(doc, draftId, [{ op: 'set', path: `/rule/values/${layer}/value`, value: `${ch}${k}` }], origin)
      }
      lastDescription = `described ${ch}`
      editDraft(doc, draftId, [{ op: 'set', path: '/description', value: lastDescription }], origin)
      await name.press(ch)
      await new Promise((r) => setTimeout(r, 20))
    }
    await until(async () => {
      for (const [layer, v] of last)
        if ((await page.getByTestId(`layer-value-${layer}`).inputValue()) !== v) return false
      return (await description.inputValue()) === lastDescription
    }, 30_000)
    // The typed text went where the caret was, and the caret is still right after it, in that field.
    const caret = await name.evaluate((el: HTMLInputElement) => ({
      value: el.value,
      start: el.selectionStart,
      end: el.selectionEnd,
      focused: document.activeElement === el,
    }))
    expect(caret).toEqual({ value: 'StXYZage', start: 5, end: 5, focused: true })
    await until(async () => projectDrafts(doc).byId[draftId]?.definition.displayName === 'StXYZage', 10_000)

    // A burst of remote edits (one Yjs update, one socket frame each) is projected and rendered
    // together: far fewer input writes than edits (the page rendered every edit before), and the
    // last value of each layer shows.
    const before = await layerSets()
    const burst = 300
    for (let k = 0; k < burst; k++) {
      const layer = k % layers
      last.set(layer, `burst ${k}`)
      editDraft(doc, draftId, [{ op: 'set', path: `/rule/values/${layer}/value`, value: `burst ${k}` }], origin)
    }
    await until(async () => {
      for (const [layer, v] of last)
        if ((await page.getByTestId(`layer-value-${layer}`).inputValue()) !== v) return false
      return true
    }, 60_000)
    const sets = (await layerSets()) - before
    expect(sets).toBeGreaterThanOrEqual(layers) // each layer got its last value
    expect(sets).toBeLessThan(burst / 2)
    expect(remote).toBeGreaterThan(0)
    expect(pageErrors).toEqual([])
  })

  it("lays another operator's edit of a layer value out inside the value's box, not from the document", async () => {
    const { draftId, layers } = await draftOpen()
    const origin: DocOrigin = { kind: 'local', actor: 'ada' }
    const shown = async (last: Map<number, string>) => {
      for (const [layer, v] of last)
        if ((await page.getByTestId(`layer-value-${layer}`).inputValue()) !== v) return false
      return true
    }
    // Every layer written once first (authors and "edited by" settle), then the traced burst.
    const last = new Map<number, string>()
    for (let layer = 0; layer < layers; layer++) {
      last.set(layer, `warm ${layer}`)
      editDraft(doc, draftId, [{ op: 'set', path: `/rule/values/${layer}/value`, value: `warm ${layer}` }], origin)
    }
    await until(() => shown(last), 30_000)
    await new Promise((r) => setTimeout(r, 500))
    // A burst, traced: how many of its layouts were rooted at a value's box alone.
    const burst = async (round: number) => {
      await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] })
      for (let k = 0; k < 6 * layers; k++) {
        const layer = k % layers
        last.set(layer, `boxed ${round}.${k}`)
        editDraft(
          doc,
          draftId,
          [{ op: 'set', path: `/rule/values/${layer}/value`, value: `boxed ${round}.${k}` }],
          origin,
        )
        await new Promise((r) => setTimeout(r, 20))
      }
      await until(() => shown(last), 30_000)
      const trace = JSON.parse((await browser.stopTracing()).toString()) as {
        traceEvents: Array<{
          name: string
          ph: string
          args?: { endData?: { layoutRoots?: Array<{ nodeName: string }> } }
        }>
      }
      // Chromium's Layout events name the roots each layout started from.
      const roots = trace.traceEvents
        .filter((e) => e.name === 'Layout' && e.ph === 'X')
        .map((e) => (e.args?.endData?.layoutRoots ?? []).map((r) => r.nodeName))
      return roots.filter((r) => r.length > 0 && r.every((n) => n.includes('relayout-box'))).length
    }
    // Before, every one was laid out from #document (the input is a flex item, never a relayout
    // boundary). Some still are, when something else changed in the same frame (the preview's
    // chart); on a loaded machine every frame of one burst can be such a frame, so up to three
    // bursts are traced before the test gives up.
    let fromBox = 0
    for (let round = 0; round < 3 && fromBox === 0; round++) fromBox = await burst(round)
    expect(fromBox).toBeGreaterThan(0)
    expect(pageErrors).toEqual([])
  })
})
