import { layoutLines, type HistoryPoint } from './line-layout.ts'
import { appendItem, drawEmpty, newSvg, r2 } from './svg.ts'

export interface RenderLinesOptions {
  width: number
  height: number
  measure?: 'users' | 'proportion'
  title?: string
  locale?: string
  document?: Document
}

/**
 * Renders the history chart: a legend, one line per value over the days, and one focusable
 * column per day whose tooltip lists that day's values → a detached <svg> (exactly the layout).
 */
export function renderLines(items: readonly HistoryPoint[], o: RenderLinesOptions): SVGSVGElement {
  const l = layoutLines(items, o)
  const svg = newSvg(l.width, l.height, o.title ?? 'Users per value over time', o.document)
  svg.attr('class', 'chart chart-lines')
  const legend = svg.append('g').attr('class', 'legend')
  for (const it of l.legend) {
    const row = legend
      .append('g')
      .attr('class', 'legend-item')
      .attr('data-value', it.value)
      .attr('transform', `translate(${r2(it.x)},${r2(it.y)})`)
    row.append('rect').attr('y', 2).attr('width', 12).attr('height', 3).attr('rx', 1).attr('fill', it.color)
    row.append('text').attr('x', 16).attr('y', 4).attr('dy', '0.32em').attr('fill', '#111827').text(it.text)
  }
  const g = svg.append('g').attr('transform', `translate(${l.margin.left},${l.margin.top})`)
  const plotW = l.width - l.margin.left - l.margin.right
  const plotH = l.height - l.margin.top - l.margin.bottom
  const grid = g.append('g').attr('class', 'grid').attr('stroke', '#e5e7eb')
  const axis = g.append('g').attr('class', 'axis').attr('fill', '#6b7280')
  for (const t of l.yTicks) {
    grid.append('line').attr('x1', 0).attr('x2', r2(plotW)).attr('y1', r2(t.at)).attr('y2', r2(t.at))
    axis.append('text').attr('x', -6).attr('y', r2(t.at)).attr('dy', '0.32em').attr('text-anchor', 'end').text(t.label)
  }
  for (const t of l.xTicks)
    axis
      .append('text')
      .attr('x', r2(t.at))
      .attr('y', r2(plotH + 18))
      .attr('text-anchor', 'middle')
      .text(t.label)
  for (const s of l.series) {
    const line = g.append('g').attr('class', 'series').attr('data-key', s.value).attr('data-value', s.value)
    line.append('path').attr('d', s.path).attr('fill', 'none').attr('stroke', s.color).attr('stroke-width', 2)
    for (const p of s.points)
      line
        .append('circle')
        .attr('cx', r2(p.x))
        .attr('cy', r2(p.y))
        .attr('r', s.points.length > 40 ? 1.5 : 3)
        .attr('fill', s.color)
  }
  const days = g.append('g').attr('class', 'days').attr('role', 'list').attr('aria-label', 'Days')
  for (const d of l.days) {
    const col = appendItem(days, 'day', { date: d.date }, d.tip, d.tip.replace(/\n/g, '; '))
    col
      .append('rect')
      .attr('x', r2(d.x0))
      .attr('y', 0)
      .attr('width', r2(Math.max(1, d.x1 - d.x0)))
      .attr('height', r2(plotH))
      .attr('fill', 'transparent')
    col
      .append('line')
      .attr('class', 'cursor')
      .attr('x1', r2(d.x))
      .attr('x2', r2(d.x))
      .attr('y1', 0)
      .attr('y2', r2(plotH))
      .attr('stroke', '#9ca3af')
      .attr('stroke-dasharray', '3 3')
      .attr('opacity', 0)
  }
  if (items.length === 0) drawEmpty(svg, l.width, l.height, 'No history in this range')
  return svg.node() as SVGSVGElement
}
