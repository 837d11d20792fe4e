import { describe, expect, it } from 'vitest'
import { makeRng } from '../../shared/prng.ts'
import { layoutBars, type TextMark } from '../../client/charts/bar-layout.ts'
import { colorAt, percent, toChartData, valueLabel } from '../../client/charts/chart-data.ts'
import { layoutDonut, MAX_SLICES } from '../../client/charts/donut-layout.ts'
import { layoutLines } from '../../client/charts/line-layout.ts'
import { colorDistance, countTicks, OTHER_COLOR, tableau10 } from '../../client/charts/scales.ts'
import { fitText, lineHeight, textWidth, wrapText } from '../../client/charts/text.ts'
import type { DistributionItem } from '../../engine/api.ts'

// The renderers (client/charts/render-*.ts) draw exactly these layouts; their DOM output is
// checked in the browser test. Here: the pure data → geometry functions, deterministic inputs.

const items: DistributionItem[] = [
  { value: 'dormant', users: 200, proportion: 0.5 },
  { value: 'browser', users: 100, proportion: 0.25 },
  { value: 'active buyer', users: 50, proportion: 0.125 },
]

/** Seeded random distributions of 1–50 items. */
function randomItems(seed: number): DistributionItem[] {
  const rng = makeRng(seed)
  const n = rng.int(1, 50)
  const users = Array.from({ length: n }, () => rng.int(0, 10_000))
  const total = users.reduce((a, b) => a + b, 0) + rng.int(0, 5000)
  return users.map((u, i) => ({ value: `v${i}`, users: u, proportion: total ? u / total : 0 }))
}

describe('chart data', () => {
  it('labels values the way operators read them', () => {
    expect(valueLabel(null)).toBe('(none)')
    expect(valueLabel(3)).toBe('3')
    expect(valueLabel(0.1 + 0.2)).toBe('0.3')
    expect(valueLabel(true)).toBe('true')
    expect(valueLabel('2024-03-01T00:00:00.000Z')).toBe('2024-03-01')
    expect(valueLabel('[0,10)')).toBe('[0,10)')
    expect(percent(0.1234)).toBe('12.3%')
    expect(percent(0.0004)).toBe('<0.1%')
    expect(percent(0)).toBe('0.0%')
  })

  it('keeps the server order and gives each item a unique key, even for repeated values', () => {
    const d = toChartData([...items, { value: 'dormant', users: 1, proportion: 0 }])
    expect(d.map((x) => x.label)).toEqual(['dormant', 'browser', 'active buyer', 'dormant'])
    expect(new Set(d.map((x) => x.key)).size).toBe(4)
  })
})

describe('bar and column layout', () => {
  it('draws horizontal bars with lengths proportional to users, one row per value, top to bottom', () => {
    const l = layoutBars(toChartData(items), { orientation: 'bar', width: 600 })
    const [a, b, c] = l.bars
    expect(l.bars.map((x) => x.label)).toEqual(['dormant', 'browser', 'active buyer'])
    expect(a!.width / b!.width).toBeCloseTo(2, 6)
    expect(b!.width / c!.width).toBeCloseTo(2, 6)
    expect(a!.y).toBeLessThan(b!.y)
    expect(b!.y).toBeLessThan(c!.y)
    expect(new Set(l.bars.map((x) => x.height)).size).toBe(1)
    expect(l.height).toBe(l.margin.top + l.margin.bottom + 3 * 26)
    expect(l.ticks[0]).toEqual({ at: 0, value: 0, label: '0' })
  })

  it('puts ticks on whole user counts only, also when the largest bar is 1 or 2', () => {
    for (const users of [1, 2, 3]) {
      for (const orientation of ['bar', 'column'] as const) {
        const l = layoutBars(toChartData([{ value: 'only', users, proportion: 1 }]), {
          orientation,
          width: 600,
          height: 300,
        })
        const values = l.ticks.map((t) => t.value)
        expect(values.every(Number.isInteger)).toBe(true)
        expect(values).toContain(0)
        expect(values).toContain(users)
        expect(new Set(values).size).toBe(values.length)
      }
    }
  })

  it('draws columns that grow upward from a common baseline', () => {
    const l = layoutBars(toChartData(items), { orientation: 'column', width: 600, height: 300 })
    const base = l.height - l.margin.top - l.margin.bottom
    for (const col of l.bars) expect(col.y + col.height).toBeCloseTo(base, 6)
    expect(l.bars[0]!.height / l.bars[2]!.height).toBeCloseTo(4, 6)
    expect(l.bars[0]!.x).toBeLessThan(l.bars[1]!.x)
  })

  it('keeps every bar inside the plot for seeded random distributions', () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const orientation of ['bar', 'column'] as const) {
        const l = layoutBars(toChartData(randomItems(seed)), { orientation, width: 700 })
        const w = l.width - l.margin.left - l.margin.right
        const h = l.height - l.margin.top - l.margin.bottom
        for (const b of l.bars) {
          expect(b.x).toBeGreaterThanOrEqual(0)
          expect(b.y).toBeGreaterThanOrEqual(-1e-9)
          expect(b.x + b.width).toBeLessThanOrEqual(w + 1e-9)
          expect(b.y + b.height).toBeLessThanOrEqual(h + 1e-9)
          expect(b.width).toBeGreaterThanOrEqual(0)
        }
      }
    }
  })

  it('lays out an empty distribution without NaN', () => {
    const l = layoutBars([], { orientation: 'bar', width: 400 })
    expect(l.bars).toEqual([])
    expect(Number.isFinite(l.height)).toBe(true)
  })
})

describe('donut layout', () => {
  it('splits the full circle in proportion to users, in order', () => {
    const l = layoutDonut(toChartData(items), { width: 600, size: 200 })
    const spans = l.slices.map((s) => s.endAngle - s.startAngle)
    expect(spans.reduce((a, b) => a + b, 0)).toBeCloseTo(2 * Math.PI, 6)
    expect(spans[0]! / spans[1]!).toBeCloseTo(2, 6)
    expect(l.slices[0]!.startAngle).toBe(0)
    expect(l.slices.map((s) => s.color)).toEqual(['#4e79a7', '#f28e2b', '#e15759'])
    expect(l.coveredUsers).toBe(350)
    for (const s of l.slices) expect(s.path).toMatch(/^M[-\d.]/)
  })

  it('gives every slice a path for seeded random distributions (zero-user items are empty slices)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const data = toChartData(randomItems(seed))
      const l = layoutDonut(data, { width: 700, size: 240 })
      const shown = Math.min(data.length, 10)
      expect(l.slices).toHaveLength(shown)
      expect(l.slices.reduce((n, x) => n + x.users, 0)).toBe(data.reduce((n, x) => n + x.users, 0))
      for (const s of l.slices) expect(s.endAngle).toBeGreaterThanOrEqual(s.startAngle)
    }
  })
})

describe('history line layout', () => {
  const history = [
    { date: '2024-03-01', value: 'a', users: 10, proportion: 0.1 },
    { date: '2024-03-02', value: 'a', users: 20, proportion: 0.2 },
    { date: '2024-03-03', value: 'a', users: 5, proportion: 0.05 },
    { date: '2024-03-01', value: 'b', users: 40, proportion: 0.4 },
    { date: '2024-03-03', value: 'b', users: 30, proportion: 0.3 },
  ]

  it('draws one line per value, ordered by latest users, points left to right by date', () => {
    const l = layoutLines(history, { width: 500, height: 200 })
    expect(l.series.map((s) => s.value)).toEqual(['b', 'a'])
    const a = l.series[1]!
    expect(a.points.map((p) => p.date)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03'])
    expect(a.points[0]!.x).toBe(0)
    expect(a.points[2]!.x).toBeCloseTo(500 - l.margin.left - l.margin.right, 6)
    expect(a.points[1]!.y).toBeLessThan(a.points[0]!.y) // more users → higher on screen
    expect(a.path.startsWith('M0,')).toBe(true)
  })

  it('plots shares instead of counts when asked', () => {
    const users = layoutLines(history, { width: 500, height: 200 })
    const share = layoutLines(history, { width: 500, height: 200, measure: 'proportion' })
    expect(share.yTicks.at(-1)!.value).toBeLessThanOrEqual(1)
    expect(users.yTicks.at(-1)!.value).toBeGreaterThanOrEqual(40)
  })

  it('handles a single day and no data', () => {
    const one = layoutLines(history.slice(0, 1), { width: 300, height: 100 })
    expect(one.series[0]!.points[0]!.x).toBeCloseTo((300 - one.margin.left - one.margin.right) / 2, 6)
    expect(layoutLines([], { width: 300, height: 100 }).series).toEqual([])
  })
})

// ---- The layout rules of issue 9: no overlaps, whole-number ticks, 50 distinct colours. ----

/** Top-50 distributions as operators make them: long names, numbers in the thousands. */
const top50 = (labelOf: (i: number) => string, seed = 7): DistributionItem[] => {
  const rng = makeRng(seed)
  const users = Array.from({ length: 50 }, () => rng.int(1, 40_000)).sort((a, b) => b - a)
  const total = users.reduce((a, b) => a + b, 0)
  return users.map((u, i) => ({ value: labelOf(i), users: u, proportion: u / total }))
}
const labelSets: Record<string, (i: number) => string> = {
  short: (i) => `v${i}`,
  words: (i) => `segment number ${i} of the spring campaign`,
  bins: (i) => `[${i * 535.121},${(i + 1) * 535.121})`,
  cjk: (i) => `高价值客户${i}`,
}

type Box = { x0: number; y0: number; x1: number; y1: number }
const overlap = (a: Box, b: Box) => a.x0 < b.x1 - 0.01 && b.x0 < a.x1 - 0.01 && a.y0 < b.y1 - 0.01 && b.y0 < a.y1 - 0.01

/** Two labels rotated by the same angle clear each other when their centres are a line apart across the text. */
function marksOverlap(a: TextMark, b: TextMark): boolean {
  if (a.angle === -45 && b.angle === -45) {
    const across = Math.abs((b.x - a.x) * Math.SQRT1_2 + (b.y - a.y) * Math.SQRT1_2)
    return across < lineHeight(12) - 0.01
  }
  return overlap(a.box, b.box)
}

describe('chart layout rules', () => {
  for (const [name, labelOf] of Object.entries(labelSets))
    for (const width of [360, 480, 800, 1400, 1920])
      it(`top-50 columns (${name} labels) at ${width} px: no two labels overlap and none leaves the chart`, () => {
        const l = layoutBars(toChartData(top50(labelOf)), { orientation: 'column', width })
        const marks = [...l.categoryLabels, ...l.valueLabels]
        expect(l.categoryLabels.length).toBeGreaterThan(0)
        for (let i = 0; i < marks.length; i++)
          for (let j = i + 1; j < marks.length; j++) {
            const [a, b] = [marks[i]!, marks[j]!]
            if (marksOverlap(a, b))
              throw new Error(`"${a.lines.join(' ')}" overlaps "${b.lines.join(' ')}" (${l.labelMode})`)
          }
        // Inside the svg (plot coordinates shifted by the margins).
        for (const m of marks) {
          expect(m.box.x0 + l.margin.left).toBeGreaterThanOrEqual(-0.5)
          expect(m.box.x1 + l.margin.left).toBeLessThanOrEqual(l.width + 0.5)
          expect(m.box.y0 + l.margin.top).toBeGreaterThanOrEqual(-0.5)
          expect(m.box.y1 + l.margin.top).toBeLessThanOrEqual(l.height + 0.5)
        }
        // Thinned labels are evenly spaced: every k-th, starting with the first.
        expect(l.categoryLabels.map((m) => m.key)).toEqual(
          l.bars.filter((_, i) => i % l.thinEvery === 0).map((b) => b.key),
        )
      })

  it('chooses horizontal, wrapped, rotated or thinned category labels from the measured text', () => {
    const few = [
      { value: 'dormant', users: 5, proportion: 0.5 },
      { value: 'active buyer', users: 5, proportion: 0.5 },
    ]
    expect(layoutBars(toChartData(few), { orientation: 'column', width: 800 }).labelMode).toBe('horizontal')
    const wordy = top50(labelSets.words!).slice(0, 8)
    expect(layoutBars(toChartData(wordy), { orientation: 'column', width: 1400 }).labelMode).toBe('wrap')
    const l50 = layoutBars(toChartData(top50(labelSets.words!)), { orientation: 'column', width: 1920 })
    expect(l50.labelMode).toBe('rotate45')
    expect(l50.thinEvery).toBe(1)
    const narrow = layoutBars(toChartData(top50(labelSets.words!)), { orientation: 'column', width: 480 })
    expect(narrow.labelMode).toBe('rotate90')
    expect(narrow.thinEvery).toBeGreaterThan(1)
  })

  it('horizontal bars at top 50 never overlap: one row per value, labels and amounts fit the margins', () => {
    for (const width of [360, 800, 1920]) {
      const l = layoutBars(toChartData(top50(labelSets.words!)), { orientation: 'bar', width })
      for (let i = 1; i < l.categoryLabels.length; i++)
        expect(overlap(l.categoryLabels[i - 1]!.box, l.categoryLabels[i]!.box)).toBe(false)
      for (const m of l.categoryLabels) expect(m.box.x0 + l.margin.left).toBeGreaterThanOrEqual(0)
      for (const m of l.valueLabels) expect(m.box.x1 + l.margin.left).toBeLessThanOrEqual(l.width + 0.5)
    }
  })

  it('text width estimates grow with the text and treat wide scripts as wide', () => {
    expect(textWidth('iiii')).toBeLessThan(textWidth('MMMM'))
    expect(textWidth('20,000', 12)).toBeGreaterThan(25)
    expect(textWidth('高价值', 12)).toBe(36)
    expect(textWidth(fitText('segment number 12 of the spring campaign', 80))).toBeLessThanOrEqual(80)
    expect(wrapText('active buyer', 50, 2)).toEqual(['active', 'buyer'])
    expect(wrapText('unbreakablelongword', 50, 2)).toBeNull()
  })
})

describe('nice whole-number ticks', () => {
  it('never repeats a tick and never shows a fraction of a user, for every largest count up to 2,000', () => {
    for (let max = 0; max <= 2000; max++) {
      const { ticks, top } = countTicks(max, 5)
      expect(ticks.every(Number.isInteger)).toBe(true)
      expect(new Set(ticks).size).toBe(ticks.length)
      expect(ticks[0]).toBe(0)
      expect(top).toBeGreaterThanOrEqual(max)
      expect(ticks.at(-1)).toBe(top)
      expect(ticks.length).toBeLessThanOrEqual(12)
      const step = ticks[1]! - ticks[0]!
      expect(String(step)).toMatch(/^(1|2|5)0*$/)
    }
  })

  it('gives the history chart whole-number ticks for small counts (no "0 0 0 1 1 1")', () => {
    const tiny = [
      { date: '2024-03-01', value: 'a', users: 1, proportion: 0.5 },
      { date: '2024-03-02', value: 'a', users: 0, proportion: 0 },
      { date: '2024-03-01', value: 'b', users: 1, proportion: 0.5 },
    ]
    const l = layoutLines(tiny, { width: 800, height: 260, locale: 'en-US' })
    expect(l.yTicks.map((t) => t.label)).toEqual(['0', '1'])
    const share = layoutLines(tiny, { width: 800, height: 260, measure: 'proportion', locale: 'en-US' })
    expect(new Set(share.yTicks.map((t) => t.label)).size).toBe(share.yTicks.length)
  })

  it('puts date ticks on whole days, spaced so their labels do not overlap', () => {
    for (const days of [1, 2, 5, 15, 31, 90, 365])
      for (const width of [360, 800, 1920]) {
        const items = Array.from({ length: days }, (_, i) => ({
          date: new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10),
          value: 'a',
          users: i,
          proportion: 0,
        }))
        const l = layoutLines(items, { width, height: 260, locale: 'en-US' })
        const labels = l.xTicks.map((t) => t.label)
        expect(new Set(labels).size).toBe(labels.length)
        for (let i = 1; i < l.xTicks.length; i++) {
          const gap = l.xTicks[i]!.at - l.xTicks[i - 1]!.at
          const need = (textWidth(l.xTicks[i]!.label) + textWidth(l.xTicks[i - 1]!.label)) / 2
          expect(gap).toBeGreaterThan(need)
        }
      }
  })
})

describe('colours', () => {
  it('gives 50 values 50 distinct colours, clearly apart (CIELAB ΔE ≥ 12) and apart from "Other" grey', () => {
    const colours = Array.from({ length: 50 }, (_, i) => colorAt(i))
    expect(new Set(colours).size).toBe(50)
    for (let i = 0; i < 50; i++) {
      expect(colorDistance(colours[i]!, OTHER_COLOR)).toBeGreaterThanOrEqual(12)
      for (let j = i + 1; j < 50; j++) expect(colorDistance(colours[i]!, colours[j]!)).toBeGreaterThanOrEqual(12)
    }
    expect(colours.slice(0, 10)).toEqual(tableau10)
  })

  it('history lines of 50 values each get their own colour and a legend entry', () => {
    const items = Array.from({ length: 50 }, (_, v) => ({
      date: '2024-03-01',
      value: `value ${v}`,
      users: v + 1,
      proportion: 0,
    }))
    const l = layoutLines(items, { width: 800, height: 400 })
    expect(new Set(l.series.map((s) => s.color)).size).toBe(50)
    expect(l.legend.map((x) => x.value)).toEqual(l.series.map((s) => s.value))
    for (const it of l.legend) expect(it.y).toBeLessThan(l.margin.top)
  })

  it('groups a donut\'s tail as one grey "Other" slice instead of repeating colours', () => {
    const data = toChartData(top50(labelSets.short!))
    const l = layoutDonut(data, { width: 800 })
    expect(l.slices).toHaveLength(MAX_SLICES)
    const other = l.slices.at(-1)!
    expect(other.label).toBe('Other (41 values)')
    expect(other.color).toBe(OTHER_COLOR)
    expect(other.users).toBe(data.slice(9).reduce((n, d) => n + d.users, 0))
    expect(new Set(l.slices.map((s) => s.color)).size).toBe(MAX_SLICES)
    expect(l.legend.map((r) => r.key)).toEqual(l.slices.map((s) => s.key))
    // The legend fits: below the ring when narrow, beside it when wide.
    for (const width of [360, 800, 1920]) {
      const w = layoutDonut(data, { width })
      for (const r of w.legend) expect(r.y + 14).toBeLessThanOrEqual(w.height)
      for (const r of w.legend) expect(r.x + 18 + textWidth(r.text)).toBeLessThanOrEqual(width)
    }
  })
})
