/**
 * Issue 8: what one remote draft edit costs the page that has the draft open in its editor, in
 * main-thread CPU ms (Chromium's `ThreadTime`, CDP Performance.getMetrics). A Node y-websocket
 * operator types into the draft's rule layers (`updates` edits at `rate` a second, one Yjs update
 * each, as the pair bench's typists do), the page's main-thread CPU time over that stretch, less
 * the same stretch idle, is divided by the number of edits. CPU time, not wall time: the figure
 * holds on a busy machine.
 *
 *   npx tsx bench/draft-page-cost.ts [--updates 600] [--rate 90] [--layers 18] [--profile out.cpuprofile]
 *                                    [--trace out.json] [--no-minify] [--client dir]
 *
 * --profile writes a CPU profile of the page over the edits (open it in Chrome DevTools), --trace
 * a Chromium trace (Perfetto; TRACE_CATEGORIES=a,b picks its categories), --no-minify builds the
 * app without minifying (readable names in the profile), --client serves an app already built there
 * (vite build output; to compare two builds). Part of `npm run bench -- collab`.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { editDraft, projectDrafts, type DocOrigin } from '../shared/doc/index.ts'
import { tokens } from '../tests/server/helpers.ts'
import { buildClient, hasChromium, launchChromium, CHROMIUM } from '../tests/client/browser-env.ts'
import { startAppServer } from './app-server.ts'
import { closeReplica, connectReplica, setupDraft, waitFor, whenSynced } from './collab-drafts.ts'
import { round, sleep } from './collab.ts'

export interface PageCostOptions {
  updates: number
  rate: number
  layers: number
  profile?: string
  /** A Chromium trace of the page over the edits (chrome://tracing, Perfetto). */
  trace?: string
}

export interface PageCostRow {
  bench: string
  updates: number
  rate: number
  layers: number
  /** Main-thread CPU ms per remote edit (idle cost subtracted). */
  cpuMsPerUpdate: number
  /** Main-thread CPU % while the edits arrive. */
  busyCpuPct: number
  idleCpuPct: number
  scriptMsPerUpdate: number
  styleLayoutMsPerUpdate: number
}

const round2 = (x: number) => Math.round(x * 100) / 100

const metrics = async (cdp: CDPSession) => {
  const { metrics: list } = await cdp.send('Performance.getMetrics')
  return Object.fromEntries(list.map((x) => [x.name, x.value])) as Record<string, number>
}

/** Seconds of the page's main-thread CPU and script/style/layout time over `run()`. */
async function measure(cdp: CDPSession, run: () => Promise<void>) {
  const a = await metrics(cdp)
  const t0 = performance.now()
  await run()
  const b = await metrics(cdp)
  const d = (k: string) => (b[k] ?? 0) - (a[k] ?? 0)
  return {
    wall: (performance.now() - t0) / 1000,
    thread: d('ThreadTime'),
    script: d('ScriptDuration'),
    styleLayout: d('RecalcStyleDuration') + d('LayoutDuration'),
  }
}

/** Opens the app on `draft`'s label editor, signed in with `token`. */
async function openEditor(browser: Browser, base: string, token: string, name: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const page = await ctx.newPage()
  await page.goto(`${base}/?token=${token}`, { timeout: 120_000 })
  await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
  await page.getByTestId(`label-row-${name}`).click()
  await page.getByTestId('edit-label').click()
  await page.getByTestId('draft-info').waitFor({ timeout: 30_000 })
  return page
}

export async function draftPageCost(browser: Browser, clientDir: string, o: PageCostOptions): Promise<PageCostRow> {
  const srv = await startAppServer({ clientDir })
  const typist = connectReplica(srv.collab, tokens.editor)
  let page: Page | null = null
  try {
    await whenSynced(typist)
    const name = 'page_cost_bench'
    const { draftId } = await setupDraft(typist, name, o.layers)
    page = await openEditor(browser, srv.http, tokens.admin, name)
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' })
    await sleep(2000) // the editor settles (first preview, presence)
    const seconds = o.updates / o.rate
    const idle = await measure(cdp, async () => void (await sleep(seconds * 1000)))
    const origin: DocOrigin = { kind: 'local', actor: 'typist' }
    const lastValue = `done ${Date.now()}`
    if (o.profile) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
      await cdp.send('Profiler.start')
    }
    if (o.trace)
      await browser.startTracing(page, {
        path: o.trace,
        screenshots: false,
        ...(process.env['TRACE_CATEGORIES'] ? { categories: process.env['TRACE_CATEGORIES'].split(',') } : {}),
      })
    const opened = page
    const busy = await measure(cdp, async (): Promise<void> => {
      const t0 = performance.now()
      for (let k = 0; k < o.updates; k++) {
        const value = k === o.updates - 1 ? lastValue : `t#${k}`
        editDraft(typist.doc, draftId, [{ op: 'set', path: `/rule/values/${k % o.layers}/value`, value }], origin)
        const due = t0 + ((k + 1) * 1000) / o.rate
        const wait = due - performance.now()
        if (wait > 0) await sleep(wait)
      }
      const lastLayer = (o.updates - 1) % o.layers
      await opened.waitForFunction(
        ([id, v]) => (document.querySelector(`[data-testid="${id}"]`) as HTMLInputElement | null)?.value === v,
        [`layer-value-${lastLayer}`, lastValue] as const,
        { timeout: 120_000, polling: 50 },
      )
    })
    if (o.trace) await browser.stopTracing()
    if (o.profile) {
      const { profile } = await cdp.send('Profiler.stop')
      writeFileSync(o.profile, JSON.stringify(profile))
    }
    await waitFor(() => projectDrafts(typist.doc).byId[draftId] !== undefined, 1000, 'the draft to stay open')
    const idleRate = idle.thread / idle.wall
    const cpu = busy.thread - idleRate * busy.wall
    return {
      bench: 'CPU ms per remote draft edit in a page with the draft open (Chromium main thread)',
      updates: o.updates,
      rate: o.rate,
      layers: o.layers,
      cpuMsPerUpdate: round2((1000 * cpu) / o.updates),
      busyCpuPct: round((100 * busy.thread) / busy.wall),
      idleCpuPct: round(100 * idleRate),
      scriptMsPerUpdate: round2((1000 * busy.script) / o.updates),
      styleLayoutMsPerUpdate: round2((1000 * busy.styleLayout) / o.updates),
    }
  } finally {
    closeReplica(typist)
    await page?.context().close()
    await srv.stop()
  }
}

async function buildUnminified(): Promise<{ dir: string; dispose(): Promise<void> }> {
  const { mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join, resolve } = await import('node:path')
  const { build } = await import('vite')
  const dir = await mkdtemp(join(tmpdir(), 'labels-client-'))
  await build({
    configFile: resolve(import.meta.dirname, '../client/vite.config.ts'),
    logLevel: 'error',
    build: { outDir: dir, emptyOutDir: true, minify: false },
  })
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const flag = (n: string) => {
    const i = args.indexOf(`--${n}`)
    return i >= 0 ? args[i + 1] : undefined
  }
  if (!hasChromium) {
    console.log(`${CHROMIUM} is missing`)
    process.exit(0)
  }
  // --no-minify: readable function names in --profile (not the shipped build).
  const given = flag('client')
  const client = given
    ? { dir: given, dispose: async () => {} }
    : args.includes('--no-minify')
      ? await buildUnminified()
      : await buildClient()
  const browser = await launchChromium()
  try {
    const profile = flag('profile'),
      trace = flag('trace')
    const row = await draftPageCost(browser, client.dir, {
      updates: Number(flag('updates') ?? 600),
      rate: Number(flag('rate') ?? 90),
      layers: Number(flag('layers') ?? 18),
      ...(profile ? { profile } : {}),
      ...(trace ? { trace } : {}),
    })
    console.table([row])
  } finally {
    await browser.close()
    await client.dispose()
  }
}
