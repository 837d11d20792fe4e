/**
 * npm run bench -- client --compare DIR [--labels 5000] [--groups 500] [--loads 5] [--settle 4] [--keep-local]
 *
 * Load → interactive tree of two builds of the web app, interleaved on the same machine moment:
 * this tree's client (built now) and the one built before in DIR (e.g. the previous commit's:
 * `git worktree add /tmp/base HEAD~1`, then a Vite build of /tmp/base/client into DIR). Each is
 * served by its own app server with the same seeded workspace, in its own page of one Chromium;
 * the pages reload in turn (A B B A …), each reload timed as in the client bench
 * (`reloadToInteractive`: from the reload's call to the drawn frame). Separate runs of the client
 * bench differ by up to 1.5× on this shared machine within an hour, more than most changes to the
 * load; interleaved loads share its state, and the paired difference is printed with them.
 *
 * `--settle S` (default 4 s) between loads: the preview's engine warms up once input has been quiet
 * for 2 s after a load, and must not run into the other page's load.
 */
import type { Page } from 'playwright-core'
import { tokens } from '../tests/server/helpers.ts'
import { buildClient, launchChromium } from '../tests/client/browser-env.ts'
import { startAppServer, type AppServer } from './app-server.ts'
import { pct, round, sleep } from './collab.ts'
import { forgetLocalCopy, interactive, reloadToInteractive } from './offline-reload.ts'

export async function compareLoads(o: {
  other: string
  labels: number
  groups: number
  loads: number
  settleMs: number
  keepLocal: boolean
}): Promise<void> {
  const built = await buildClient()
  const builds = [
    { name: 'this tree', dir: built.dir },
    { name: o.other, dir: o.other },
  ]
  const whole = { n: o.labels, groups: o.groups }
  const servers: AppServer[] = []
  const browser = await launchChromium()
  try {
    servers.push(
      ...(await Promise.all(
        builds.map((b) => startAppServer({ clientDir: b.dir, seed: { labels: o.labels, groups: o.groups } })),
      )),
    )
    const pages: Page[] = []
    for (const srv of servers) {
      const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage()
      await page.goto(`${srv.http}/?token=${tokens.editor}`, { timeout: 120_000 })
      await page.waitForFunction(interactive, whole, { timeout: 180_000, polling: 100 })
      pages.push(page)
    }
    await sleep(o.settleMs)
    const loadMs: number[][] = builds.map(() => [])
    const inPageMs: number[][] = builds.map(() => [])
    for (let i = 0; i < o.loads; i++) {
      const order = i % 2 === 0 ? [0, 1] : [1, 0]
      for (const k of order) {
        const page = pages[k]!
        if (!o.keepLocal) await forgetLocalCopy(page)
        const r = await reloadToInteractive(page, whole)
        loadMs[k]!.push(round(r.loadMs))
        inPageMs[k]!.push(round(r.m.doneMs))
        await sleep(o.settleMs)
      }
    }
    const diff = loadMs[0]!.map((a, i) => round(a - loadMs[1]![i]!))
    console.table(
      builds.map((b, k) => ({
        build: b.name,
        loads: loadMs[k]!.length,
        p50ms: round(pct(loadMs[k]!, 50)),
        minms: Math.min(...loadMs[k]!),
        maxms: Math.max(...loadMs[k]!),
        inPageP50ms: round(pct(inPageMs[k]!, 50)),
      })),
    )
    console.log(
      `load → interactive tree, ${o.labels} labels / ${o.groups} groups${o.keepLocal ? ', IndexedDB copy kept' : ''}: ` +
        `this tree − ${o.other}, per pair of loads: p50 ${round(pct(diff, 50))} ms (${diff.join(', ')})`,
    )
    for (const [k, b] of builds.entries()) console.log(`${b.name} (ms): ${loadMs[k]!.join(', ')}`)
  } finally {
    await browser.close()
    await Promise.all(servers.map((s) => s.stop()))
    await built.dispose()
  }
}
