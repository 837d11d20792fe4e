/**
 * Issue 8, the Chromium pair only (bench/offline-reload.ts `keystrokePair`): a draft keystroke typed
 * in one headless Chromium page, seen in another page's field, while `typists` Node operators type
 * into the same draft. `--runs` runs, each against a fresh app server, and the samples pooled.
 * For before/after comparisons, `--client a,b` takes built web apps (vite build output dirs) and
 * alternates between them run by run in one session, so each sees the same load over time.
 *
 *   npx tsx bench/collab-pair.ts [--runs 3] [--keystrokes 120] [--typists 18] [--rate 5] [--client dirA,dirB]
 *     [--typists-nice in,0,19]
 *
 * The load average is printed next to every run (the figures depend on it on a shared machine).
 */
import { loadavg } from 'node:os'
import { pathToFileURL } from 'node:url'
import { buildClient, hasChromium, launchChromium, CHROMIUM } from '../tests/client/browser-env.ts'
import { flagValue } from './args.ts'
import { pct, round } from './collab.ts'
import { keystrokePair } from './offline-reload.ts'

const positive = (args: string[], name: string, d: number): number => {
  const v = Number(flagValue(args, name) ?? d)
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a whole number ≥ 0, not ${flagValue(args, name)}`)
  return v
}

export async function main(args: string[]): Promise<void> {
  if (!hasChromium) {
    console.log(`${CHROMIUM} is missing`)
    return
  }
  const runs = positive(args, 'runs', 3),
    keystrokes = positive(args, 'keystrokes', 120),
    typists = positive(args, 'typists', 18),
    rate = positive(args, 'rate', 5)
  // `--typists-nice N`: the typists in a process of their own at niceness N (bench/typist-process.ts);
  // `--typists-nice in,19` alternates placements run by run, like `--client a,b` (`in`: in the
  // bench's process, the default).
  const nices = flagValue(args, 'typists-nice')
    ?.split(',')
    .map((v) => {
      if (v === 'in') return undefined
      const n = Number(v)
      if (!Number.isInteger(n) || n < 0 || n > 19)
        throw new Error(`--typists-nice needs whole numbers 0–19 or "in", not ${v}`)
      return n
    })
  const given = flagValue(args, 'client')?.split(',').filter(Boolean)
  const built = given ? null : await buildClient()
  const clients = given ?? [built!.dir]
  const browser = await launchChromium()
  // Each build, with the typists in the bench's process or apart at each niceness given.
  const variants = clients.flatMap((dir) =>
    (nices ?? [undefined]).map((nice) => ({
      dir,
      nice,
      key: nice === undefined ? dir : `${dir}, typists apart at nice ${nice}`,
    })),
  )
  const pooled = new Map<string, number[]>(variants.map((v) => [v.key, []]))
  const rows: Array<Record<string, unknown>> = []
  try {
    for (let run = 0; run < runs; run++)
      for (const v of run % 2 ? [...variants].reverse() : variants) {
        const load = loadavg()[0]!.toFixed(1)
        const r = await keystrokePair(browser, v.dir, {
          reloadLabels: 0,
          reloadRuns: 0,
          pairKeystrokes: keystrokes,
          typists,
          rate,
          ...(v.nice === undefined ? {} : { typistsNice: v.nice }),
        }).catch((e: unknown) => {
          // A page too slow to type into (a loaded machine) is a result too: say so, go on.
          rows.push({ client: v.key, run, loadBefore: load, error: String(e).split('\n')[0] })
          console.log(JSON.stringify(rows.at(-1)))
          return null
        })
        if (!r) continue
        pooled.get(v.key)!.push(...r.samples)
        const row = {
          client: v.key,
          run,
          loadBefore: load,
          loadAfter: loadavg()[0]!.toFixed(1),
          seen: `${r.samples.length}/${r.keystrokes}`,
          p50ms: round(pct(r.samples, 50)),
          p99ms: round(pct(r.samples, 99)),
          maxms: round(Math.max(...r.samples)),
          typistKeystrokes: r.typistKeystrokes,
          typistP99ms: r.typistP99,
        }
        rows.push(row)
        console.log(JSON.stringify(row))
      }
  } finally {
    await browser.close()
    await built?.dispose()
  }
  console.table(rows)
  console.table(
    [...pooled].map(([client, s]) => ({
      client,
      samples: s.length,
      p50ms: round(pct(s, 50)),
      p90ms: round(pct(s, 90)),
      p99ms: round(pct(s, 99)),
      maxms: round(Math.max(...s)),
    })),
  )
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2))
