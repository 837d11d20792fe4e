import { describe, expect, it } from 'vitest'
import { makeRng } from '../../shared/prng.ts'
import { layoutBars } from '../../client/charts/bar-layout.ts'
import { percent, toChartData, valueLabel } from '../../client/charts/chart-data.ts'
import { layoutDonut } from '../../client/charts/donut-layout.ts'
import { layoutLines } from '../../client/charts/line-layout.ts'
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
    expect(l.ticks[0]).toEqual({ at: 0, value: 0 })
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
    const l = layoutDonut(toChartData(items), { size: 200 })
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
      const l = layoutDonut(data, { size: 240 })
      expect(l.slices).toHaveLength(data.length)
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
