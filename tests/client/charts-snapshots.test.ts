import { parseHTML } from 'linkedom'
import { describe, expect, it } from 'vitest'
import { toChartData } from '../../client/charts/chart-data.ts'
import type { HistoryPoint } from '../../client/charts/line-layout.ts'
import { renderBars } from '../../client/charts/render-bars.ts'
import { renderDonut } from '../../client/charts/render-donut.ts'
import { renderLines } from '../../client/charts/render-lines.ts'
import type { DistributionItem } from '../../engine/api.ts'
import { makeRng } from '../../shared/prng.ts'

/**
 * SVG snapshots in the Observable Plot style: every chart kind is rendered for fixed data at
 * 800, 1400 and 1920 px (in linkedom, no browser) and compared with the committed file in
 * tests/client/__snapshots__/charts/. A chart change shows up as a diff of those files.
 *
 * When a change is intended, update the files and review the diff:
 *   npx vitest run tests/client/charts-snapshots.test.ts -u
 * (open the .svg files in a browser to see them). A missing file is written on a local run; in
 * CI (CI=true) it fails instead.
 */

const WIDTHS = [800, 1400, 1920] as const
const LOCALE = 'en-US' // the snapshots must not depend on the machine's locale

/** The SVG as text, one element per line so a change is a readable diff. */
function serialise(svg: SVGSVGElement): string {
  return `${svg.outerHTML.replace(/></g, '>\n<')}\n`
}

const { document } = parseHTML('<!doctype html><html><body></body></html>')
const doc = document as unknown as Document

const stages: DistributionItem[] = [
  { value: 'dormant', users: 1840, proportion: 0.46 },
  { value: 'browser', users: 1020, proportion: 0.255 },
  { value: 'active buyer', users: 640, proportion: 0.16 },
  { value: 'new', users: 310, proportion: 0.0775 },
  { value: null, users: 190, proportion: 0.0475 },
]

/** 50 values with long, campaign-like names and counts in the thousands (seeded). */
const top50: DistributionItem[] = (() => {
  const rng = makeRng(2024)
  const users = Array.from({ length: 50 }, () => rng.int(20, 24_000)).sort((a, b) => b - a)
  const total = users.reduce((a, b) => a + b, 0) + 5000
  return users.map((u, i) => ({ value: `spring campaign segment ${i + 1}`, users: u, proportion: u / total }))
})()

/** Number bins with tiny counts: the case that gave "0 0 0 1 1 1". */
const tiny: DistributionItem[] = [
  { value: '[0,100)', users: 1, proportion: 0.25 },
  { value: '[100,200)', users: 2, proportion: 0.5 },
  { value: '[200,300)', users: 1, proportion: 0.25 },
]

/** 15 days of history for four values, one of them appearing on day 6. */
const history: HistoryPoint[] = (() => {
  const out: HistoryPoint[] = []
  const rng = makeRng(99)
  for (let d = 0; d < 15; d++) {
    const date = new Date(Date.UTC(2024, 2, 1 + d)).toISOString().slice(0, 10)
    const values = [
      ['dormant', 1800 + rng.int(-100, 100)],
      ['browser', 1000 + d * 12],
      ['active buyer', 600 + rng.int(-40, 40)],
      ...(d >= 5 ? [['new', 40 * (d - 4)]] : []),
    ] as Array<[string, number]>
    const total = values.reduce((n, v) => n + v[1], 0)
    for (const [value, users] of values) out.push({ date, value, users, proportion: users / total })
  }
  return out
})()

const smallHistory: HistoryPoint[] = [
  { date: '2024-03-01', value: 'true', users: 1, proportion: 0.5 },
  { date: '2024-03-02', value: 'true', users: 2, proportion: 1 },
  { date: '2024-03-01', value: 'false', users: 1, proportion: 0.5 },
]

type Case = [name: string, render: (width: number) => SVGSVGElement]
const cases: Case[] = [
  [
    'bar-stages',
    (width) => renderBars(toChartData(stages), { orientation: 'bar', width, locale: LOCALE, document: doc }),
  ],
  [
    'bar-top50',
    (width) => renderBars(toChartData(top50), { orientation: 'bar', width, locale: LOCALE, document: doc }),
  ],
  [
    'column-stages',
    (width) => renderBars(toChartData(stages), { orientation: 'column', width, locale: LOCALE, document: doc }),
  ],
  [
    'column-top50',
    (width) => renderBars(toChartData(top50), { orientation: 'column', width, locale: LOCALE, document: doc }),
  ],
  [
    'column-tiny',
    (width) => renderBars(toChartData(tiny), { orientation: 'column', width, locale: LOCALE, document: doc }),
  ],
  ['donut-stages', (width) => renderDonut(toChartData(stages), { width, locale: LOCALE, document: doc })],
  ['donut-top50', (width) => renderDonut(toChartData(top50), { width, locale: LOCALE, document: doc })],
  ['lines-users', (width) => renderLines(history, { width, height: 320, locale: LOCALE, document: doc })],
  [
    'lines-share',
    (width) => renderLines(history, { width, height: 320, measure: 'proportion', locale: LOCALE, document: doc }),
  ],
  ['lines-small', (width) => renderLines(smallHistory, { width, height: 260, locale: LOCALE, document: doc })],
  ['bar-empty', (width) => renderBars([], { orientation: 'bar', width, locale: LOCALE, document: doc })],
]

describe('chart SVG snapshots (update: npx vitest run tests/client/charts-snapshots.test.ts -u)', () => {
  for (const [name, render] of cases)
    for (const width of WIDTHS)
      it(`${name} at ${width} px`, async () => {
        const svg = render(width)
        expect(svg.getAttribute('viewBox')).toBe(`0 0 ${width} ${svg.getAttribute('height')}`)
        await expect(serialise(svg)).toMatchFileSnapshot(`./__snapshots__/charts/${name}-${width}.svg`)
      })
})
