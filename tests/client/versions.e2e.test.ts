import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { tokens, until, type TestServer } from '../server/helpers.ts'
import { buildClient, demoServer, editorApi, hasChromium, launchChromium, CHROMIUM } from './browser-env.ts'

if (!hasChromium)
  console.warn(
    `[tests/client] ${CHROMIUM} is missing: skipping the version history browser tests (apt-get install -y chromium)`,
  )

const artifacts = resolve(import.meta.dirname, '../artifacts')

type Rule = { method: 'custom'; values: Array<{ value: string; when: Record<string, unknown> }>; otherwise?: string }
interface RunInfo {
  id: string
  status: string
}

describe.skipIf(!hasChromium)('version history and before/after in headless Chromium', () => {
  let client: { dir: string; dispose(): Promise<void> }
  let server: TestServer
  let base = ''
  let browser: Browser
  let page: Page
  const pageErrors: string[] = []
  const api = editorApi(() => server)

  const lastRun = async () => (await api<{ lastRun: RunInfo | null }>('GET', '/api/labels/customer_stage')).lastRun
  /** Waits for a finished run newer than `after`. */
  const settledRun = (after: string | undefined) =>
    until(async () => {
      const r = await lastRun()
      return r && r.id !== after && (r.status === 'succeeded' || r.status === 'failed') ? r : null
    }, 60_000)
  const audience = async () => {
    const rows = (
      await api<{ users: Array<{ userId: string; value: string }> }>(
        'GET',
        '/api/labels/customer_stage/users?format=json',
      )
    ).users
    return new Map(rows.map((r) => [r.userId, r.value]))
  }

  beforeAll(async () => {
    await mkdir(artifacts, { recursive: true })
    client = await buildClient()
    ;({ server, base } = await demoServer(client.dir))
    browser = await launchChromium()
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1100 } })
    page = await ctx.newPage()
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(`${base}/?token=${tokens.editor}`)
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 20_000 })
    await page.getByTestId('label-row-customer_stage').click()
    await page.getByTestId('versions-card').waitFor()
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
    await client?.dispose()
  })

  it('lists REST edits live, newest first, with readable diffs', async () => {
    await page.getByTestId('version-1').waitFor()
    const original = (await api<{ rule: Rule }>('GET', '/api/labels/customer_stage')).rule
    const edited = structuredClone(original)
    edited.values[0]!.when.window = { lastDays: 7 }
    const before = (await lastRun())?.id
    await api('PATCH', '/api/labels/customer_stage', { rule: edited })
    await page.getByTestId('version-2').waitFor({ timeout: 20_000 })
    const { otherwise: _o, ...noOtherwise } = edited
    await api('PATCH', '/api/labels/customer_stage', { rule: noOtherwise })
    await page.getByTestId('version-3').waitFor({ timeout: 20_000 })

    const items = await page
      .locator('[data-testid="versions-card"] li[data-kind]')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-testid')))
    expect(items).toEqual(['version-3', 'version-2', 'version-1'])
    const changes = (n: number) =>
      page.getByTestId(`version-${n}`).locator('[data-testid="version-changes"] li').allTextContents()
    expect(await changes(2)).toEqual([
      "Layer 1 'active buyer': condition window changed from last 30 days to last 7 days",
    ])
    expect(await changes(3)).toEqual(['otherwise changed from "dormant" to no value'])
    expect(await page.getByTestId('version-3').getByTestId('version-headline').textContent()).toBe(
      'edited by eve through the API',
    )
    expect(await page.getByTestId('version-1').getByTestId('version-headline').textContent()).toBe(
      'created by demo through the API',
    )
    await page.getByTestId('versions-card').screenshot({ path: `${artifacts}/version-history.png` })
    await settledRun(before)
  })

  it('opens a version, compares it with the current results, restores it as a draft; the table matches the runs', async () => {
    // Wait until the current results are those of version 3 (its run is the last one and done).
    const current = await until(async () => {
      const r = await lastRun()
      const runs = (await api<{ runs: RunInfo[] }>('GET', '/api/labels/customer_stage/runs')).runs
      return r && runs.every((x) => x.status === 'succeeded' || x.status === 'failed') ? r : null
    }, 60_000)
    expect(current.status).toBe('succeeded')

    await page.getByTestId('version-open-1').click()
    const view = page.locator('[data-testid="version-view"][data-n="1"]')
    await view.waitFor()
    expect(await view.getByTestId('version-rule').textContent()).toContain('otherwise "dormant"')
    await view.getByTestId('compare-run').click()
    await view.getByTestId('compare-result').waitFor({ timeout: 30_000 })
    const table = await view
      .locator('[data-testid="compare-transitions"] tbody tr[data-users]')
      .evaluateAll((trs) =>
        trs.map(
          (tr) =>
            [tr.getAttribute('data-from'), tr.getAttribute('data-to'), Number(tr.getAttribute('data-users'))] as [
              string,
              string,
              number,
            ],
        ),
      )
    expect(table.reduce((a, [, , n]) => a + n, 0)).toBe(400)
    await view.getByTestId('before-after').screenshot({ path: `${artifacts}/before-after.png` })

    const before = await audience()
    await view.getByTestId('version-restore').click()
    const draft = await until(async () =>
      api<{ id: string; definition: { rule: Rule } }>('GET', '/api/labels/customer_stage/draft').catch(() => null),
    )
    expect(draft.definition.rule.otherwise).toBe('dormant')
    expect((draft.definition.rule.values[0]!.when as { window: unknown }).window).toEqual({ lastDays: 30 })

    // The editor opens on the restored draft; its before/after (next to Publish) says the same.
    const editor = page.getByTestId('label-editor')
    await editor.getByTestId('compare-run').click()
    await editor.getByTestId('compare-result').waitFor({ timeout: 30_000 })
    const inEditor = await editor
      .locator('[data-testid="compare-transitions"] tbody tr[data-users]')
      .evaluateAll((trs) =>
        trs.map(
          (tr) =>
            [tr.getAttribute('data-from'), tr.getAttribute('data-to'), Number(tr.getAttribute('data-users'))] as [
              string,
              string,
              number,
            ],
        ),
      )
    expect(inEditor).toEqual(table)
    await editor.getByTestId('before-after').screenshot({ path: `${artifacts}/before-after-editor.png` })

    // Publishing the restored draft runs version 1's rule: every customer moves as the table said.
    await api('POST', `/api/drafts/${draft.id}/publish`)
    const run = await settledRun(current.id)
    expect(run.status).toBe('succeeded')
    const after = await audience()
    const expected = new Map<string, number>()
    const users = new Set([...before.keys(), ...after.keys()])
    for (const u of users) {
      const k = `${before.get(u) ?? 'no value'} → ${after.get(u) ?? 'no value'}`
      expected.set(k, (expected.get(k) ?? 0) + 1)
    }
    const covered = [...expected.values()].reduce((a, n) => a + n, 0)
    if (covered < 400) expected.set('no value → no value', 400 - covered)
    expect(new Map(table.map(([f, t, n]) => [`${f} → ${t}`, n]))).toEqual(expected)

    // The publish is version 4, recognised as a return to version 1.
    await page.getByTestId('version-4').waitFor({ timeout: 20_000 })
    expect(await page.getByTestId('version-4').getByTestId('version-headline').textContent()).toMatch(
      /^restored version 1 by eve/,
    )
    // Restore opened the editor over the page: a fresh page for the picture of the history.
    const fresh = await page.context().newPage()
    await fresh.goto(`${base}/?token=${tokens.editor}#/labels/customer_stage`)
    await fresh.getByTestId('version-4').waitFor({ timeout: 20_000 })
    await fresh.getByTestId('versions-card').screenshot({ path: `${artifacts}/version-history-restored.png` })
    expect(pageErrors).toEqual([])
  })
})
