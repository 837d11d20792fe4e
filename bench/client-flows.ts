/**
 * Issue 9's two operator flows timed in headless Chromium, part of `npm run bench -- client`
 * (or alone: `npx tsx bench/client-flows.ts [--edits 15] [--runs 10] [--dwell 0] [--first-start-only]`). The demo workspace
 * (400 customers, tests/client/browser-env.ts demoServer) on a PGlite server in this process;
 * every time below is taken in the page, on the machine's one clock:
 *
 *  - rule edit → in-browser preview updated: in the editor of `spend_90d` (a metric over the last
 *    N days), "number of days" is set to a new value (one `input` event, as a paste would); the
 *    figure runs from that event to the first task after the frame that shows the preview's new
 *    summary (the panel's 450 ms debounce, the sample engine in its worker, the render).
 *    The in-browser sample is loaded before the first edit.
 *  - run success → chart updated: the label page of `customer_stage` is open; one new customer
 *    with a purchase now is ingested (so the result changes), then POST …/calculate. Measured from
 *    the live channel's `run` message saying `succeeded` reaching the page, and from the run's
 *    stored `finishedAt` (server clock), to the first task after the frame that shows the changed
 *    distribution chart (its text: counts and values).
 *
 * Before them, the preview's first start (previewFirstStart; `--dwell S`, `--first-start-only`).
 *
 * Targets (issue 9): preview p50 ≤ 300 ms including the debounce; run success → chart ≤ 500 ms.
 */
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { auth, ndjson, tokens, until, type TestServer } from '../tests/server/helpers.ts'
import {
  buildClient,
  CHROMIUM,
  demoServer,
  editorApi,
  hasChromium,
  launchChromium,
} from '../tests/client/browser-env.ts'
import { flagValue } from './args.ts'
import { pct, round, sleep } from './collab.ts'

interface Flow {
  /** Epoch ms of each `input` event in the rule form's "number of days". */
  edits: number[]
  /** Epoch ms (after the next frame) and text of each preview summary put on screen. */
  summaries: Array<[number, string]>
  /** Run id and epoch ms of each live `run` message saying succeeded. */
  succeeded: Array<[string, number]>
  /** Epoch ms (after the next frame) and text of the label page's distribution chart, each time it changed. */
  charts: Array<[number, string]>
}

// Runs in every page before its scripts. No named inner functions: the page lacks tsx's __name helper.
function recordFlows(): void {
  const w = window as unknown as { __flow: Flow }
  w.__flow = { edits: [], summaries: [], succeeded: [], charts: [] }
  const f = w.__flow
  document.addEventListener(
    'input',
    (e) => {
      if ((e.target as HTMLElement | null)?.dataset?.['testid'] === 'rule-last-days')
        f.edits.push(performance.timeOrigin + performance.now())
    },
    true,
  )
  const Ws = window.WebSocket
  window.WebSocket = class extends Ws {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      if (String(url).includes('/api/live'))
        this.addEventListener('message', (e: MessageEvent) => {
          const at = performance.timeOrigin + performance.now()
          const m = JSON.parse(String(e.data)) as { type?: string; run?: { id: string; status: string } }
          if (m.type === 'run' && m.run?.status === 'succeeded') f.succeeded.push([m.run.id, at])
        })
    }
  }
  let chartText: string | null = null
  // The panel keeps its summary element while the next preview runs (marked data-stale), so a new
  // result shows as the summary becoming current again, or changing while current.
  let current: string | null = null
  new MutationObserver(() => {
    const el = document.querySelector('[data-testid="preview-summary"][data-stale="false"]')
    const now = el?.textContent ?? null
    const summary = now !== null && now !== current ? now : null
    current = now
    const chart = document.querySelector('[data-testid="label-detail"] [data-testid="distribution-chart"]')
    const text = chart?.textContent ?? null
    const changed = text !== null && text !== chartText
    chartText = text
    if (summary == null && !changed) return
    // Shown once the frame with it is produced: the first task after the next animation frame.
    requestAnimationFrame(() =>
      setTimeout(() => {
        const at = performance.timeOrigin + performance.now()
        if (summary != null) f.summaries.push([at, summary])
        if (changed) f.charts.push([at, text])
      }, 0),
    )
  }).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ['data-stale'],
  })
}

const flow = (page: Page) => page.evaluate(() => (window as unknown as { __flow: Flow }).__flow)

function positive(args: string[], name: string, dflt: number): number {
  const v = Number(flagValue(args, name) ?? dflt)
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive whole number`)
  return v
}

/**
 * Sets "number of days" `edits` times; the ms from each edit to its preview on screen, and the
 * part of it the preview engine says it took (its summary's "· N ms").
 */
async function previewEdits(page: Page, edits: number): Promise<{ shown: number[]; engineMs: number[] }> {
  await page.getByTestId('label-row-spend_90d').click()
  await page.getByTestId('edit-label').click()
  await page.getByTestId('draft-info').waitFor({ timeout: 30_000 })
  // The in-browser sample (PGlite in a worker) is loaded once, before the first timed edit.
  await page.getByTestId('preview-summary').waitFor({ timeout: 180_000 })
  await sleep(1000)
  const days = page.getByTestId('rule-last-days')
  const out: number[] = [],
    engineMs: number[] = []
  for (let i = 0; i < edits; i++) {
    await days.fill(String([30, 60, 7, 45, 14, 90][i % 6]! + Math.floor(i / 6)))
    const at = (await flow(page)).edits.at(-1)!
    const shown = await until(async () => (await flow(page)).summaries.find(([t]) => t > at), 30_000)
    out.push(round(shown[0] - at))
    // The summary ends "· N ms": the preview's own calculation time.
    engineMs.push(Number(/· (\d+) ms\s*$/.exec(shown[1])?.[1] ?? Number.NaN))
    await sleep(300)
  }
  await page.getByTestId('close-editor').click()
  return { shown: out, engineMs }
}

/** `runs` runs of customer_stage, each after one new active customer: ms from success to the chart. */
async function runsToChart(
  page: Page,
  server: TestServer,
  runs: number,
): Promise<{ fromMessage: number[]; fromFinished: number[] }> {
  const api = editorApi(() => server)
  await page.getByTestId('label-row-customer_stage').click()
  await page.locator('[data-testid="distribution-chart"] svg g.bar').first().waitFor({ timeout: 60_000 })
  await sleep(1000)
  const fromMessage: number[] = [],
    fromFinished: number[] = []
  for (let i = 0; i < runs; i++) {
    const user = `bench_flow_${Date.now()}_${i}`
    for (const [url, row] of [
      ['/api/data/users', { user_id: user, properties: {} }],
      ['/api/data/events', { user_id: user, event: 'purchase', time: new Date().toISOString(), properties: {} }],
    ] as const) {
      const r = await server.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
        payload: ndjson([row]),
      })
      if (r.statusCode >= 400) throw new Error(`POST ${url} → ${r.statusCode} ${r.body}`)
    }
    const before = (await flow(page)).charts.length
    const { runId } = await api<{ runId: string }>('POST', '/api/labels/customer_stage/calculate', {})
    const run = await until(async () => {
      const r = await api<{ status: string; finishedAt: string | null }>('GET', `/api/runs/${runId}`)
      if (r.status === 'failed') throw new Error(`run ${runId} failed`)
      return r.status === 'succeeded' ? r : null
    }, 120_000)
    const [msgAt, chartAt] = await until(async () => {
      const f = await flow(page)
      const msg = f.succeeded.find(([id]) => id === runId)?.[1]
      const chart = msg === undefined ? undefined : f.charts.slice(before).find(([t]) => t >= msg)?.[0]
      return msg !== undefined && chart !== undefined ? ([msg, chart] as const) : null
    }, 30_000)
    fromMessage.push(round(chartAt - msgAt))
    fromFinished.push(round(chartAt - Date.parse(run.finishedAt!)))
    await sleep(500)
  }
  return { fromMessage, fromFinished }
}

/**
 * Preview first start: a new browser context (no kept sample, nothing cached), the page live, then
 * the editor of `spend_90d` opened after `dwellMs`; the ms from the click on Edit to the first
 * current preview on screen, and where the sample's load went (the panel's `data-phases`). Then
 * the same after a reload (the kept sample opened from IndexedDB).
 */
async function previewFirstStart(
  browser: Browser,
  base: string,
  dwellMs: number,
): Promise<Array<Record<string, number | string>>> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const rows: Array<Record<string, number | string>> = []
  try {
    const page = await ctx.newPage()
    for (const start of ['first visit', 'after a reload'] as const) {
      const t0 = performance.now()
      if (start === 'first visit') await page.goto(`${base}/?token=${tokens.editor}`, { timeout: 120_000 })
      else await page.reload({ timeout: 120_000 })
      await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 120_000 })
      const live = performance.now()
      await sleep(dwellMs)
      await page.getByTestId('label-row-spend_90d').click()
      const open = performance.now()
      await page.getByTestId('edit-label').click()
      await page
        .locator('[data-testid="preview-summary"][data-mode="sample"][data-stale="false"]')
        .waitFor({ timeout: 600_000 })
      const shown = performance.now()
      const phases = JSON.parse(
        (await page.getByTestId('preview-source').getAttribute('data-phases')) ?? '{}',
      ) as Record<string, number>
      const summary = (await page.getByTestId('preview-summary').textContent()) ?? ''
      rows.push({
        start: `${start}, editor opened ${round(dwellMs / 1000)} s after live`,
        loadToLiveMs: round(live - t0),
        editToPreviewMs: round(shown - open),
        ...phases,
        firstQueryMs: Number(/· (\d+) ms\s*$/.exec(summary)?.[1] ?? Number.NaN),
      })
      await page.getByTestId('close-editor').click()
      // The sample is kept (after the first preview) before the reload.
      await until(
        () => page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('labels.preview.'))),
        60_000,
      )
    }
  } finally {
    await ctx.close()
  }
  return rows
}

/** The two flows on their own demo server, in a new context of `browser`; prints a table. */
export async function clientFlows(browser: Browser, clientDir: string, args: string[]): Promise<void> {
  const edits = positive(args, 'edits', 15)
  const runs = positive(args, 'runs', 10)
  // Preview first start (`--dwell S`: seconds between the page live and the editor opened).
  const dwell = Number(flagValue(args, 'dwell') ?? 0)
  if (!(dwell >= 0)) throw new Error('--dwell needs a number of seconds ≥ 0')
  const { server, base } = await demoServer(clientDir)
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  try {
    console.log('preview first start (ms; phases: LoadPhases in client/preview/preview-protocol.ts):')
    console.table(await previewFirstStart(browser, base, dwell * 1000))
    if (args.includes('--first-start-only')) return
    await ctx.addInitScript(recordFlows)
    const page = await ctx.newPage()
    await page.goto(`${base}/?token=${tokens.editor}`, { timeout: 120_000 })
    await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
    const preview = await previewEdits(page, edits)
    const chart = await runsToChart(page, server, runs)
    const row = (bench: string, xs: number[], target: string) => ({
      bench,
      n: xs.length,
      p50ms: round(pct(xs, 50)),
      p95ms: round(pct(xs, 95)),
      maxms: Math.max(...xs),
      target,
    })
    console.table([
      row('rule edit → in-browser preview updated (400 customers)', preview.shown, 'p50 ≤ 300 ms'),
      row('  of which the preview engine (summary "· N ms")', preview.engineMs, 'debounce: 150 ms'),
      row('run succeeded (live message) → chart updated', chart.fromMessage, '≤ 500 ms'),
      row('run succeeded (stored finishedAt) → chart updated', chart.fromFinished, '≤ 500 ms'),
    ])
    console.log(
      `edit → preview (ms): ${preview.shown.join(', ')}; live message → chart (ms): ${chart.fromMessage.join(', ')}; ` +
        `finishedAt → chart (ms): ${chart.fromFinished.join(', ')}`,
    )
  } finally {
    await ctx.close()
    await server.close()
  }
}

export async function main(args: string[]): Promise<void> {
  if (!hasChromium) {
    console.log(`${CHROMIUM} is missing: skipping the client flows bench (apt-get install chromium)`)
    return
  }
  const client = await buildClient()
  const browser = await launchChromium()
  try {
    await clientFlows(browser, client.dir, args)
  } finally {
    await browser.close()
    await client.dispose()
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2))
