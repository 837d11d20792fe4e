/**
 * Issue-8 benchmarks in headless Chromium (the tests' build and launch flags), against the whole
 * app in a child process (bench/app-server.ts):
 *
 *  - a draft keystroke in one page seen in another: both pages have the label's draft open in
 *    the editor while Node operators type into the same draft's rule layers (so the draft has
 *    `typists + 2` operators); page A types into "Display name", page B records when its field's
 *    value is set to the same text. Times are taken inside the pages (A: the `input` event; B:
 *    the input's value setter, wrapped by an init script), on one machine clock;
 *  - reload-to-interactive offline: a workspace with `labels` labels (written by a Node client,
 *    200 per transaction), opened online once (document into IndexedDB, service worker
 *    installed), then the context goes offline, the server is stopped, and the page is reloaded
 *    `runs` times; each time, from page.reload() until every label row is rendered and the tree's
 *    edit controls ("+ Group", draggable rows, "+ New label") are there.
 */
import type { Browser, Page } from 'playwright-core'
import { tokens } from '../tests/server/helpers.ts'
import { startTypistProcess, type TypistProcess } from './typist-process.ts'
import { buildClient, hasChromium, launchChromium, CHROMIUM } from '../tests/client/browser-env.ts'
import { createGroup, createLabel, type DocOrigin } from '../shared/doc/index.ts'
import { startAppServer } from './app-server.ts'
import { closeReplica, connectReplica, setupDraft, startTypists, whenSynced } from './collab-drafts.ts'
import { pct, round, sleep } from './collab.ts'
import { draftPageCost } from './draft-page-cost.ts'

export interface BrowserOptions {
  reloadLabels: number
  reloadRuns: number
  pairKeystrokes: number
  typists: number
  rate: number
  /** false: skip the offline reload bench (`--no-reload`). */
  reload?: boolean
  /**
   * The pair's typists in a process of their own at this niceness (bench/typist-process.ts):
   * the other operators' clients off the measured pages' priority, as on their own machines.
   * Unset: in the bench's process, as before.
   */
  typistsNice?: number
}

/** Groups of the offline-reload workspace. */
const RELOAD_GROUPS = 20

interface SummaryRow {
  what: string
  figure: string
  target: string
}

async function openApp(browser: Browser, base: string, token: string, init?: () => void): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } })
  const page = await ctx.newPage()
  if (init) await page.addInitScript(init)
  await page.goto(`${base}/?token=${token}`, { timeout: 120_000 })
  await page.getByTestId('sync-status').filter({ hasText: 'live' }).waitFor({ timeout: 60_000 })
  return page
}

// Runs in page B: every value set on the "Display name" input, with the time; and the arrival
// time of every collab WebSocket message (to split network from rendering).
function recordDisplayNameSets(): void {
  const w = window as unknown as { __sets: Array<[string, number]>; __msgs: number[] }
  w.__sets = []
  w.__msgs = []
  const Ws = window.WebSocket
  window.WebSocket = class extends Ws {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols)
      if (String(url).includes('/collab/'))
        this.addEventListener('message', () => w.__msgs.push(performance.timeOrigin + performance.now()))
    }
  }
  const d = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!
  Object.defineProperty(HTMLInputElement.prototype, 'value', {
    ...d,
    set(this: HTMLInputElement, v: string) {
      d.set!.call(this, v)
      if (this.dataset['testid'] === 'field-display-name')
        w.__sets.push([String(v), performance.timeOrigin + performance.now()])
    },
  })
}

// Runs in page A: every keystroke's input event in "Display name", with the time.
function recordDisplayNameInputs(): void {
  const w = window as unknown as { __inputs: Array<[string, number]> }
  w.__inputs = []
  document.addEventListener(
    'input',
    (e) => {
      const t = e.target as HTMLInputElement
      if (t.dataset?.['testid'] === 'field-display-name')
        w.__inputs.push([t.value, performance.timeOrigin + performance.now()])
    },
    true,
  )
}

/** `p`, or an error after 30 s (a saturated page never answers). */
const within = <T>(p: Promise<T>): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, rej) =>
      setTimeout(() => rej(new Error('the page did not answer within 30 s')), 30_000).unref(),
    ),
  ])

/** One pair of pages on a draft that `typists` Node operators type into meanwhile (also bench/collab-pair.ts). */
export async function keystrokePair(
  browser: Browser,
  clientDir: string,
  o: BrowserOptions,
): Promise<{ samples: number[]; arrivals: number[]; keystrokes: number; typistKeystrokes: number; typistP99: number }> {
  const srv = await startAppServer({ clientDir })
  const seed = connectReplica(srv.collab, tokens.editor)
  const pages: Page[] = []
  const apart = o.typistsNice !== undefined
  const typists = apart ? [] : Array.from({ length: o.typists }, () => connectReplica(srv.collab, tokens.editor))
  let typistProcess: TypistProcess | null = null
  try {
    await Promise.all([seed, ...typists].map(whenSynced))
    const name = 'pair_bench'
    const { draftId } = await setupDraft(seed, name, Math.max(1, o.typists))
    if (apart && o.typists > 0)
      typistProcess = await startTypistProcess({
        collab: srv.collab,
        token: tokens.editor,
        draftId,
        typists: o.typists,
        rate: o.rate,
        nice: o.typistsNice!,
      })
    const a = await openApp(browser, srv.http, tokens.editor, recordDisplayNameInputs)
    pages.push(a)
    const b = await openApp(browser, srv.http, tokens.admin, recordDisplayNameSets)
    pages.push(b)
    for (const p of [a, b]) {
      await p.getByTestId(`label-row-${name}`).click()
      await p.getByTestId('edit-label').click()
      await p.getByTestId('draft-info').waitFor({ timeout: 30_000 })
      if ((await p.getByTestId('label-editor').getAttribute('data-draft-id')) !== draftId)
        throw new Error('the page opened another draft')
    }
    const samples: number[] = [],
      arrivals: number[] = []
    const typistSamples: number[] = []
    const inProcess = typistProcess ? null : startTypists(typists, draftId, o.rate, typistSamples)
    typistProcess?.start()
    await sleep(1000)
    const field = a.getByTestId('field-display-name')
    await field.click({ timeout: 10_000 }).catch(async (e: unknown) => {
      console.log(await a.evaluate(() => document.body.textContent.slice(0, 2000)))
      throw e
    })
    await field.press('End')
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789'
    // A page that can't keep up with the draft would make every press wait: give up after 60 s.
    const deadline = Date.now() + 60_000
    for (let k = 0; k < o.pairKeystrokes; k++) {
      if (Date.now() > deadline)
        throw new Error(`the page is too slow: ${k} of ${o.pairKeystrokes} keystrokes typed in 60 s`)
      await within(a.keyboard.press(chars[k % chars.length]!))
      await sleep(150 + Math.random() * 150) // ~4 keystrokes a second
    }
    await sleep(1000)
    let typistKeystrokes = 0
    let typistP99 = 0
    if (typistProcess) ({ keystrokes: typistKeystrokes, p99: typistP99 } = await typistProcess.stop())
    else {
      typistKeystrokes = await inProcess!()
      typistP99 = round(pct(typistSamples, 99))
    }
    const inputs = await within(a.evaluate(() => (window as unknown as { __inputs: Array<[string, number]> }).__inputs))
    const sets = await within(b.evaluate(() => (window as unknown as { __sets: Array<[string, number]> }).__sets))
    const msgs = await within(b.evaluate(() => (window as unknown as { __msgs: number[] }).__msgs))
    const firstSet = new Map<string, number>()
    for (const [v, t] of sets) if (!firstSet.has(v)) firstSet.set(v, t)
    for (const [v, t] of inputs) {
      const seen = firstSet.get(v)
      if (seen === undefined) continue
      samples.push(seen - t)
      // Without typists, the first collab message B gets after the keystroke is that keystroke.
      const msg = msgs.find((m) => m >= t)
      if (o.typists === 0 && msg !== undefined && msg <= seen) arrivals.push(msg - t)
    }
    return { samples, arrivals, keystrokes: inputs.length, typistKeystrokes, typistP99 }
  } finally {
    typistProcess?.kill()
    ;[seed, ...typists].forEach(closeReplica)
    for (const p of pages) await p.context().close()
    await srv.stop()
  }
}

/** Writes `n` labels in `groups` groups through a y-websocket client, 200 per transaction (frames stay under 1 MiB). */
export async function seedLabels(collabUrl: string, n: number, groups: number): Promise<void> {
  const r = connectReplica(collabUrl, tokens.editor)
  await whenSynced(r)
  const origin: DocOrigin = { kind: 'local', actor: 'bench' }
  const groupIds = Array.from({ length: groups }, (_, g) => createGroup(r.doc, { name: `Group ${g}` }, origin).id)
  for (let i = 0; i < n; i += 200) {
    r.doc.transact(() => {
      for (let l = i; l < Math.min(n, i + 200); l++) {
        createLabel(
          r.doc,
          {
            name: `label_${String(l).padStart(4, '0')}`,
            displayName: `Label ${l}`,
            groupId: groupIds[l % groups]!,
            dataType: 'string',
            labelType: 'static',
            description: `Benchmark label number ${l}, imported values.`,
            rule: { method: 'import' },
          },
          origin,
        )
      }
    }, origin)
    await sleep(50)
  }
  // Wait until the server echoes a state covering ours (our updates are stored and relayed).
  await sleep(1000)
  closeReplica(r)
}

// Runs in the page (polled every frame): when the tree is whole (all `n` label rows, or, in a large
// workspace whose groups start closed, all `groups` group rows) and its edit controls are there,
// the milestones since navigation start (first row, whole tree, controls, and `doneMs`: once the
// frame that shows them is drawn); else null. A frame callback runs before that frame's style,
// layout and paint (~110–190 ms for the first frame of a 5,000-label tree), so the end is taken in
// a task posted from it, which runs after them, as the keystroke → frame figures are.
export const interactive = ({
  n,
  groups,
}: {
  n: number
  groups: number
}): { firstRowMs: number; allRowsMs: number; controlsMs: number; inDomMs: number; doneMs: number } | null => {
  const w = window as unknown as {
    __m?: { firstRowMs: number; allRowsMs: number; controlsMs: number; inDomMs: number; drawnMs: number }
  }
  const m = (w.__m ??= { firstRowMs: 0, allRowsMs: 0, controlsMs: 0, inDomMs: 0, drawnMs: 0 })
  if (m.drawnMs) return { ...m, doneMs: m.drawnMs }
  if (m.inDomMs) return null
  const now = performance.now()
  const rows = document.querySelectorAll('[data-testid^="label-row-"], [data-testid^="group-row-"]')
  const labels = document.querySelectorAll('[data-testid^="label-row-"]').length
  const closed = document.querySelectorAll('[data-testid^="group-row-"][aria-expanded="false"]').length
  // A virtualised tree renders the rows in view: it is whole once it lists every group (data-rows).
  const listed = Number(document.querySelector('[role="tree"]')?.getAttribute('data-rows') ?? 0)
  if (rows.length > 0 && !m.firstRowMs) m.firstRowMs = now
  if ((labels >= n || closed >= groups || (rows.length > 0 && listed >= groups)) && !m.allRowsMs) m.allRowsMs = now
  const controls =
    !!document.querySelector('[data-testid="new-group"]') &&
    !(document.querySelector('[data-testid="new-label"]') as HTMLButtonElement | null)?.disabled &&
    !!document.querySelector(
      '[data-testid^="label-row-"][draggable="true"], [data-testid^="group-row-"][draggable="true"]',
    )
  if (controls && !m.controlsMs) m.controlsMs = now
  if (m.allRowsMs && m.controlsMs) {
    m.inDomMs = now
    setTimeout(() => {
      m.drawnMs = performance.now()
    }, 0)
  }
  return null
}

/**
 * Deletes every IndexedDB database of the page's origin (the workspace's copy among them), so
 * its next load gets the document from the server. Each deletion is awaited until done, or
 * blocked by the page's own open copy: then it completes as the next reload closes it, and
 * IndexedDB queues that page's open behind it.
 */
export function forgetLocalCopy(page: Page): Promise<void> {
  return page.evaluate(async () => {
    const dbs = await indexedDB.databases()
    await Promise.all(
      dbs.map(
        (d) =>
          new Promise<void>((done) => {
            if (!d.name) return done()
            const req = indexedDB.deleteDatabase(d.name)
            req.onsuccess = req.onerror = req.onblocked = () => done()
          }),
      ),
    )
  })
}

type Milestones = NonNullable<ReturnType<typeof interactive>>

/**
 * Reloads `page` and waits until the tree is interactive (`interactive`). `loadMs` runs from the
 * reload's call to the drawn frame, on the wall clock (the page's `performance.timeOrigin` plus its
 * `doneMs`): the bench's own polling, a frame callback and a round trip to the page after that
 * frame, is not in it. `seenMs` is until the bench saw it (the figure printed until 2026-12-03): that adds
 * the poll's latency and whatever task the page runs after the drawn frame before the next one.
 */
export async function reloadToInteractive(
  page: Page,
  whole: { n: number; groups: number },
  timeout = 120_000,
): Promise<{ loadMs: number; seenMs: number; m: Milestones; fromServiceWorker: boolean }> {
  const startEpoch = performance.timeOrigin + performance.now()
  const start = performance.now()
  const res = await page.reload({ waitUntil: 'commit' })
  const at = await page.waitForFunction(interactive, whole, { timeout, polling: 'raf' })
  const seenMs = performance.now() - start
  const m = (await at.jsonValue())!
  const origin = await page.evaluate(() => performance.timeOrigin)
  return { loadMs: origin + m.doneMs - startEpoch, seenMs, m, fromServiceWorker: !!res?.fromServiceWorker() }
}

export async function offlineReload(
  browser: Browser,
  clientDir: string,
  o: BrowserOptions,
): Promise<{ reloadMs: number[]; inPageMs: number[]; milestones: unknown[]; seedMs: number; firstLoadMs: number }> {
  const srv = await startAppServer({ clientDir })
  let stopped = false
  try {
    const t0 = performance.now()
    await seedLabels(srv.collab, o.reloadLabels, RELOAD_GROUPS)
    const seedMs = performance.now() - t0
    const t1 = performance.now()
    const page = await openApp(browser, srv.http, tokens.editor)
    await page.waitForFunction(
      interactive,
      { n: o.reloadLabels, groups: RELOAD_GROUPS },
      { timeout: 180_000, polling: 100 },
    )
    const firstLoadMs = performance.now() - t1
    for (const end = Date.now() + 60_000; !(await page.evaluate(() => navigator.serviceWorker.controller !== null)); ) {
      if (Date.now() > end) throw new Error('the service worker never took control')
      await sleep(100)
    }
    await sleep(2000) // y-indexeddb writes the synced document
    await page.context().setOffline(true)
    await page.getByTestId('offline-banner').waitFor({ timeout: 10_000 })
    await srv.stop() // nothing below may reach it; and its 2,000 creation runs stop using the CPU
    stopped = true
    const reloadMs: number[] = [],
      inPageMs: number[] = [],
      milestones: unknown[] = []
    for (let run = 0; run < o.reloadRuns; run++) {
      // BENCH_PROFILE=file.cpuprofile: a CPU profile of the last reload (open in Chrome DevTools).
      const cdp =
        process.env['BENCH_PROFILE'] && run === o.reloadRuns - 1 ? await page.context().newCDPSession(page) : null
      if (cdp) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 500 })
        await cdp.send('Profiler.start')
      }
      const r = await reloadToInteractive(page, { n: o.reloadLabels, groups: RELOAD_GROUPS }, 60_000)
      if (!r.fromServiceWorker) throw new Error('the offline reload was not served by the service worker')
      reloadMs.push(round(r.loadMs))
      if (cdp) {
        const { profile } = await cdp.send('Profiler.stop')
        ;(await import('node:fs')).writeFileSync(process.env['BENCH_PROFILE']!, JSON.stringify(profile))
      }
      const m = r.m
      inPageMs.push(round(m.doneMs))
      milestones.push({
        firstRowMs: round(m.firstRowMs),
        allRowsMs: round(m.allRowsMs),
        controlsMs: round(m.controlsMs),
      })
      await sleep(500)
    }
    await page.context().close()
    return { reloadMs, inPageMs, milestones, seedMs: round(seedMs), firstLoadMs: round(firstLoadMs) }
  } finally {
    if (!stopped) await srv.stop()
  }
}

/** Both Chromium benches; an empty result when /usr/bin/chromium is missing. */
export async function browserBenches(
  o: BrowserOptions,
): Promise<{ pair: unknown; cost: unknown; reload: unknown; summary: SummaryRow[] } | null> {
  if (!hasChromium) {
    console.log(`${CHROMIUM} is missing: skipping the Chromium benches (apt-get install chromium)`)
    return null
  }
  const client = await buildClient()
  const browser = await launchChromium()
  try {
    const pairRows: Array<Record<string, unknown>> = []
    const pairs: unknown[] = []
    for (const typists of [0, o.typists]) {
      const bench = `draft keystroke, Chromium page → Chromium page (+${typists} Node typists)`
      try {
        const pair = await keystrokePair(browser, client.dir, { ...o, typists })
        pairRows.push({
          bench,
          keystrokes: pair.keystrokes,
          seen: pair.samples.length,
          p50ms: round(pct(pair.samples, 50)),
          p99ms: round(pct(pair.samples, 99)),
          maxms: round(Math.max(...pair.samples)),
          wsArrivalP50ms: round(pct(pair.arrivals, 50)),
          typistKeystrokes: pair.typistKeystrokes,
          typistP99ms: pair.typistP99,
        })
        pairs.push({ typists, samples: pair.samples.map(round), arrivals: pair.arrivals.map(round) })
      } catch (e) {
        pairRows.push({ bench, error: String(e).split('\n')[0] })
      }
    }
    console.table(pairRows)
    // What each of those remote edits costs a page (CPU, so it holds on a busy machine).
    const cost = await draftPageCost(browser, client.dir, { updates: 600, rate: 90, layers: o.typists || 18 })
    console.table([cost])
    const costRow = {
      what: `main-thread CPU per remote draft edit, page with the draft open (${cost.rate} edits/s, Chromium)`,
      figure: `${cost.cpuMsPerUpdate} ms (${cost.busyCpuPct} % of a core while they arrive)`,
      target: '—',
    }
    const pairSummary = pairRows.map((r) => ({
      what: String(r['bench']),
      figure: r['error'] ? String(r['error']) : `p50 ${r['p50ms']} ms, p99 ${r['p99ms']} ms (${r['seen']} keystrokes)`,
      target: 'p99 ≤ 100 ms',
    }))
    if (o.reload === false)
      return { pair: { rows: pairRows, pairs }, cost, reload: null, summary: [...pairSummary, costRow] }
    const reload = await offlineReload(browser, client.dir, o)
    const reloadRow = {
      bench: `offline reload → interactive, ${o.reloadLabels} labels (Chromium)`,
      runs: reload.reloadMs.length,
      medianMs: round(pct(reload.reloadMs, 50)),
      minMs: Math.min(...reload.reloadMs),
      maxMs: Math.max(...reload.reloadMs),
      inPageMedianMs: round(pct(reload.inPageMs, 50)),
      firstOnlineLoadMs: reload.firstLoadMs,
      seedMs: reload.seedMs,
    }
    console.table([reloadRow])
    console.log(
      `offline reloads (ms): ${reload.reloadMs.join(', ')}; navigation start → interactive in the page: ${reload.inPageMs.join(', ')}`,
    )
    console.log(`in-page milestones since navigation start (ms): ${JSON.stringify(reload.milestones)}`)
    return {
      pair: { rows: pairRows, pairs },
      cost,
      reload,
      summary: [
        ...pairSummary,
        costRow,
        {
          what: `offline reload → interactive, ${o.reloadLabels} labels in IndexedDB (Chromium), median of ${reload.reloadMs.length}`,
          figure: `${reloadRow.medianMs} ms (${reloadRow.minMs}–${reloadRow.maxMs})`,
          target: '≤ 1500 ms',
        },
      ],
    }
  } finally {
    await browser.close()
    await client.dispose()
  }
}
