/**
 * `npm run bench -- collab`: the collab benchmark (bench/collab.ts: steady edits, client ramp),
 * then the issue-8 ones — a draft keystroke seen by the other operators (Node clients, and one
 * pair of headless Chromium pages), reload-to-interactive offline with 2,000 labels, merge
 * after an offline session of 500 edits.
 *
 *   npm run bench -- collab [collab.ts flags] [--draft-operators 20] [--draft-rate 5] [--draft-seconds 20]
 *                           [--merge-edits 500] [--merge-runs 5] [--reload-labels 2000] [--reload-runs 5]
 *                           [--pair-keystrokes 40] [--pair-typists 18] [--relay-labels 2000] [--relay-updates 1500]
 *                           [--only-issue8] [--no-browser] [--no-reload]
 *
 * The Chromium pair runs twice: alone on the draft, then with the Node typists typing into it;
 * then bench/draft-page-cost.ts: the main-thread CPU one remote draft edit costs such a page.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tokens } from '../tests/server/helpers.ts'
import { startAppServer } from './app-server.ts'
import { main as collabMain, pct, procStats, round } from './collab.ts'
import { draftKeystrokes, offlineMerge, type DraftRow, type MergeRow } from './collab-drafts.ts'
import { relayAcrossSnapshots } from './collab-relay.ts'

function num(args: string[], name: string, d: number): number {
  const i = args.indexOf(`--${name}`)
  const v = i >= 0 ? Number(args[i + 1]) : d
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}

export async function main(args: string[]): Promise<void> {
  if (!args.includes('--only-issue8')) await collabMain(args.filter((a) => a !== '--no-browser'))
  process.setMaxListeners(0)
  const f = {
    draftOperators: num(args, 'draft-operators', 20),
    draftRate: num(args, 'draft-rate', 5),
    draftSeconds: num(args, 'draft-seconds', 20),
    mergeEdits: num(args, 'merge-edits', 500),
    mergeRuns: num(args, 'merge-runs', 5),
    reloadLabels: num(args, 'reload-labels', 2000),
    reloadRuns: num(args, 'reload-runs', 5),
    pairKeystrokes: num(args, 'pair-keystrokes', 40),
    browser: !args.includes('--no-browser'),
  }
  console.log(
    `\n--- issue 8: drafts, offline reload, offline merge (load average before: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}) ---`,
  )
  const srv = await startAppServer()
  let draft: DraftRow, merge: MergeRow[]
  try {
    const cpu0 = procStats(srv.pid).cpuSec,
      t0 = performance.now()
    draft = await draftKeystrokes(srv.collab, tokens.editor, f.draftOperators, f.draftRate, f.draftSeconds)
    const serverCpuPct = round((100 * (procStats(srv.pid).cpuSec - cpu0)) / ((performance.now() - t0) / 1000))
    console.table([{ ...draft, serverCpuPct }])
    merge = await offlineMerge(srv.collab, tokens.editor, f.mergeEdits, f.mergeRuns)
    console.table(merge)
  } finally {
    await srv.stop()
  }
  const relay = await relayAcrossSnapshots(num(args, 'relay-labels', 2000), num(args, 'relay-updates', 1500), 100)
  console.table([relay])
  const agree = merge.map((r) => r.agreeMs)
  let browser: unknown = null
  if (f.browser) {
    const { browserBenches } = await import('./offline-reload.ts')
    browser = await browserBenches({
      reloadLabels: f.reloadLabels,
      reloadRuns: f.reloadRuns,
      pairKeystrokes: f.pairKeystrokes,
      typists: num(args, 'pair-typists', f.draftOperators - 2),
      rate: f.draftRate,
      reload: !args.includes('--no-reload'),
    })
  }
  const summary = [
    {
      what: `draft keystroke → ${f.draftOperators - 1} other operators (Node y-websocket clients)`,
      figure: `p50 ${draft.p50ms} ms, p99 ${draft.p99ms} ms (${draft.deliveries} deliveries)`,
      target: 'p99 ≤ 100 ms',
    },
    {
      what: `draft keystroke relayed by the server across snapshots, ${relay.labels} labels (${relay.updates} at 100/s)`,
      figure: `p50 ${relay.p50ms} ms, p99 ${relay.p99ms} ms, max ${relay.maxms} ms`,
      target: 'no stall at snapshots',
    },
    {
      what: `merge after an offline session of ${f.mergeEdits} edits (Node clients), median of ${agree.length}`,
      figure: `${round(pct(agree, 50))} ms (max ${round(Math.max(...agree))} ms)`,
      target: '≤ 1000 ms',
    },
    ...((browser as { summary?: Array<{ what: string; figure: string; target: string }> } | null)?.summary ?? []),
  ]
  console.table(summary)
  const outDir = join(fileURLToPath(new URL('.', import.meta.url)), 'results')
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `collab-issue8-${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
  writeFileSync(
    file,
    JSON.stringify({ flags: f, draft, relay, merge, browser, summary, at: new Date().toISOString() }, null, 2),
  )
  console.log(`wrote ${file}`)
}
