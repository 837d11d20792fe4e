import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { tokens, until, type TestServer } from '../server/helpers.ts'
import { editorApi, hasChromium, openDemoPage, CHROMIUM, type DemoPage } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the keyboard and axe tests (apt-get install -y chromium)`,
  )

const AXE = resolve(import.meta.dirname, '../../node_modules/axe-core/axe.min.js')

interface AxeViolation {
  id: string
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null
  help: string
  nodes: Array<{ target: unknown[] }>
}

/** Runs axe-core on the page as it is; returns the violations (injecting axe once per page). */
async function axeScan(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE })
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(c: Document, o: object): Promise<{ violations: unknown[] }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations as never
  })
}

/** The element that has focus, as its test id, role or tag (an error when the page stops answering). */
const focused = (page: Page): Promise<string> =>
  Promise.race([
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null
      return el?.dataset['testid'] ?? el?.getAttribute('role') ?? el?.tagName.toLowerCase() ?? ''
    }),
    new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the page does not answer')), 10_000)),
  ])

/** Presses Tab (or Shift+Tab) until the element with this test id has focus: the keyboard's only way there. */
async function tabTo(page: Page, testId: string, max = 60, back = false): Promise<void> {
  for (let i = 0; i < max; i++) {
    if ((await focused(page)) === testId) return
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab')
  }
  throw new Error(`Tab never reached ${testId} (focus is on ${await focused(page)})`)
}

/** Presses a key until the element with this test id has focus. */
async function pressTo(page: Page, key: string, testId: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    if ((await focused(page)) === testId) return
    await page.keyboard.press(key)
  }
  throw new Error(`${key} never reached ${testId} (focus is on ${await focused(page)})`)
}

describe.skipIf(!hasChromium)('keyboard and screen readers (headless Chromium)', () => {
  let demo: DemoPage
  let server: TestServer
  let base = ''
  let page: Page
  let pageErrors: string[] = []
  const api = editorApi(() => server)

  beforeAll(async () => {
    demo = await openDemoPage({ token: tokens.editor, viewport: { width: 1400, height: 950 } })
    ;({ server, base, page, pageErrors } = demo)
    page.setDefaultTimeout(15_000)
    page.on('console', (m) => m.type() === 'error' && console.log('[page]', m.text()))
  }, 180_000)
  afterAll(async () => {
    await demo?.close()
  })

  it('finds no serious or critical axe violations on any main screen', async () => {
    const found: Record<string, AxeViolation[]> = {}
    const scan = async (screen: string) => {
      found[screen] = await axeScan(page)
    }
    await page.getByTestId('label-row-customer_stage').waitFor()
    await scan('landing')
    await page.goto(`${base}/#/labels/customer_stage`)
    await page.locator('[data-testid="distribution-chart"] g.bar').first().waitFor({ timeout: 30_000 })
    await page.locator('[data-testid="history-chart"] svg').first().waitFor({ timeout: 30_000 })
    await scan('label page (distribution and history panels)')
    await page.getByTestId('new-label').click()
    await page.getByTestId('label-editor').waitFor()
    await scan('new label editor')
    // Every creation method's rule form, with a filter row and a date-range window where there is one.
    for (const method of ['custom', 'metric', 'first_last', 'preference', 'distribution'] as const) {
      await page.getByTestId('field-method').selectOption(method)
      await page.getByTestId('rule-form').waitFor()
      const where = page.getByRole('button', { name: '+ where…' })
      if (await where.count()) await where.first().click()
      const windowKind = page.getByRole('combobox', { name: /window$/i })
      if (await windowKind.count()) await windowKind.first().selectOption('range')
      await scan(`editor, ${method} rule`)
    }
    await page.getByTestId('close-editor').click()
    await page.getByTestId('label-editor').waitFor({ state: 'detached' })
    await page.goto(`${base}/#/labels/spend_band`)
    await page.getByTestId('label-detail').filter({ hasText: 'spend_band' }).waitFor()
    await page.getByTestId('edit-label').click()
    await page.getByTestId('label-editor').waitFor()
    await scan('edit dialog')
    await page.getByTestId('close-editor').click()
    await page.getByTestId('label-editor').waitFor({ state: 'detached' })
    await page.goto(`${base}/#/labels/vip_list`)
    await page.getByTestId('import-panel').waitFor()
    await scan('import label page')
    await page.getByTestId('label-more-vip_list').click()
    await page.getByRole('menuitem').first().waitFor()
    await scan('More menu open')
    await page.keyboard.press('Escape')

    const rows = Object.entries(found).flatMap(([screen, vs]) =>
      vs.map((v) => ({
        screen,
        id: v.id,
        impact: v.impact,
        nodes: v.nodes.length,
        help: v.help,
        where: v.nodes
          .slice(0, 4)
          .map((n) => n.target.join(' '))
          .join(', '),
      })),
    )
    const bad = rows.filter((r) => r.impact === 'serious' || r.impact === 'critical')
    const rest = rows.filter((r) => !(r.impact === 'serious' || r.impact === 'critical'))
    console.log(
      `[axe] ${bad.length} serious/critical, ${rest.length} minor/moderate violation(s) over ${Object.keys(found).length} screens`,
    )
    for (const r of rest) console.log(`[axe] ${r.impact} ${r.screen}: ${r.id} ×${r.nodes} (${r.help})`)
    for (const r of bad) console.log(`[axe] ${r.impact} ${r.screen}: ${r.id} ×${r.nodes} (${r.help}) at ${r.where}`)
    expect(bad).toEqual([])
  }, 120_000)

  it('creates a label, moves it with "Move to…" and deletes it with the keyboard only', async () => {
    await page.goto(`${base}/`)
    await page.getByTestId('label-row-customer_stage').waitFor()
    await page.keyboard.press('Escape')
    // Create: the New label button, the dialog takes focus, fields by Tab, Enter on Create.
    await tabTo(page, 'new-label')
    await page.keyboard.press('Enter')
    await page.getByTestId('label-editor').waitFor()
    expect(await page.evaluate(() => !!document.activeElement?.closest('[data-testid="label-editor"]'))).toBe(true)
    await tabTo(page, 'field-name')
    await page.keyboard.type('kb_made')
    await tabTo(page, 'field-display-name')
    await page.keyboard.type('Made by keyboard')
    await tabTo(page, 'save-label')
    await page.keyboard.press('Enter')
    await page.getByTestId('label-detail').filter({ hasText: 'Made by keyboard' }).waitFor({ timeout: 60_000 }) // a publish: slow on a busy machine
    await page.getByTestId('label-row-kb_made').waitFor()
    const created = await until(async () => {
      const l = await api<{ id: string; groupId: string }>('GET', '/api/labels/kb_made').catch(() => null)
      return l
    })
    const { groups } = await api<{ groups: Array<{ id: string; name: string }> }>('GET', '/api/groups')
    const engagement = groups.find((g) => g.name === 'Engagement')!
    expect(created.groupId).not.toBe(engagement.id)

    // Into the tree: one Tab stop, then arrows to the new label's row.
    await pressFocusInTree(page)
    await page.keyboard.press('Home')
    await pressTo(page, 'ArrowDown', 'label-row-kb_made')
    // Its More menu (Shift+F10), arrows to "Move to…", a radio group of destinations.
    await page.keyboard.press('Shift+F10')
    await page.getByRole('menuitem').first().waitFor()
    await pressTo(page, 'ArrowDown', 'menu-move')
    await page.keyboard.press('Enter')
    await page.getByTestId('move-dialog').waitFor()
    await pressTo(page, 'ArrowDown', `move-to-${engagement.id}`)
    await tabTo(page, 'move-confirm')
    await page.keyboard.press('Enter')
    await until(async () => (await api<{ groupId: string }>('GET', '/api/labels/kb_made')).groupId === engagement.id)
    await page.getByTestId('move-dialog').waitFor({ state: 'detached' })
    // Focus comes back to the row, now in its new group.
    await until(async () => (await focused(page)) === 'label-row-kb_made')

    // Delete: the More menu again, "Delete", confirm inside the menu.
    await page.keyboard.press('Shift+F10')
    await page.getByRole('menuitem').first().waitFor()
    await pressTo(page, 'ArrowDown', 'menu-delete')
    await page.keyboard.press('Enter')
    await page.getByTestId('menu-delete').filter({ hasText: 'Delete label and its results?' }).waitFor()
    await page.keyboard.press('Enter')
    await until(async () => {
      const r = await server.app.inject({
        method: 'GET',
        url: '/api/labels/kb_made',
        headers: { authorization: `Bearer ${tokens.editor}` },
      })
      return r.statusCode === 404
    })
    await page.getByTestId('label-row-kb_made').waitFor({ state: 'detached' })
    expect(pageErrors).toEqual([])
  }, 120_000)

  it('walks the tree with arrows: Right and Left collapse and expand a group, Escape closes a dialog and focus returns', async () => {
    await page.goto(`${base}/`)
    await page.getByTestId('label-row-customer_stage').waitFor()
    await pressFocusInTree(page)
    await page.keyboard.press('Home')
    await pressTo(page, 'ArrowDown', 'group-row-Lifecycle')
    expect(await page.getByTestId('group-row-Lifecycle').getAttribute('aria-expanded')).toBe('true')
    await page.keyboard.press('ArrowLeft')
    expect(await page.getByTestId('group-row-Lifecycle').getAttribute('aria-expanded')).toBe('false')
    await page.keyboard.press('ArrowDown')
    expect(await focused(page)).toBe('group-row-Value') // Lifecycle's children are hidden
    await page.keyboard.press('ArrowUp')
    await page.keyboard.press('ArrowRight')
    expect(await page.getByTestId('group-row-Lifecycle').getAttribute('aria-expanded')).toBe('true')
    await page.keyboard.press('ArrowRight') // into the open group: its first subgroup (Lifecycle holds no label)
    expect(await focused(page)).toBe('group-row-Acquisition')
    await page.keyboard.press('ArrowLeft') // Acquisition is open: it closes
    expect(await page.getByTestId('group-row-Acquisition').getAttribute('aria-expanded')).toBe('false')
    await page.keyboard.press('ArrowLeft') // closed: to its parent
    expect(await focused(page)).toBe('group-row-Lifecycle')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('Enter') // Enter on a group opens or closes it
    expect(await page.getByTestId('group-row-Acquisition').getAttribute('aria-expanded')).toBe('true')
    // Type-ahead: the next row whose name starts with the letter.
    await page.keyboard.press('v')
    expect(await focused(page)).toBe('label-row-vip_list')
    await page.keyboard.press('End')
    const last = await focused(page)
    expect(last).toMatch(/^(label|group)-row-/)
    // Enter opens a label; Tab reaches the page, the tree keeps one tab stop.
    await page.keyboard.press('Home')
    await pressTo(page, 'ArrowDown', 'label-row-customer_stage')
    await page.keyboard.press('Enter')
    await page.getByTestId('label-detail').filter({ hasText: 'customer_stage' }).waitFor()
    // The edit dialog takes focus, closes on Escape and gives focus back.
    await tabTo(page, 'edit-label')
    await page.keyboard.press('Enter')
    await page.getByTestId('label-editor').waitFor()
    expect(await page.evaluate(() => !!document.activeElement?.closest('[data-testid="label-editor"]'))).toBe(true)
    await page.keyboard.press('Escape')
    await page.getByTestId('label-editor').waitFor({ state: 'detached' })
    await until(async () => (await focused(page)) === 'edit-label') // focus is given back once it has closed
  }, 60_000)
})

/** Tab from the top of the page to the tree: the first Tab stop on a tree item. */
async function pressFocusInTree(page: Page): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if ((await page.evaluate(() => document.activeElement?.getAttribute('role'))) === 'treeitem') return
    await page.keyboard.press('Tab')
  }
  throw new Error('Tab never reached the tree')
}
