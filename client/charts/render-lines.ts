import { count, percent } from './chart-data.ts'
import { layoutLines, type HistoryPoint } from './line-layout.ts'
import { newSvg } from './svg.ts'

export interface RenderLinesOptions {
  width: number
  height: number
  measure?: 'users' | 'proportion'
  title?: string
  document?: Document
}

/** Renders the history chart: one line per value over the days, with a legend → a detached <svg>. */
export function renderLines(items: readonly HistoryPoint[], o: RenderLinesOptions): SVGSVGElement {
  const l = layoutLines(items, o)
  const svg = newSvg(l.width, l.height, o.title ?? 'Users per value over time', o.document)
  svg.attr('class', 'chart chart-lines')
  const g = svg.append('g').attr('transform', `translate(${l.margin.left},${l.margin.top})`)
  const plotW = l.width - l.margin.left - l.margin.right
  const plotH = l.height - l.margin.top - l.margin.bottom
  const grid = g.append('g').attr('class', 'grid').attr('stroke', '#e5e7eb')
  const axis = g.append('g').attr('class', 'axis').attr('fill', '#6b7280')
  for (const t of l.yTicks) {
    grid.append('line').attr('x1', 0).attr('x2', plotW).attr('y1', t.at).attr('y2', t.at)
    axis
      .append('text')
      .attr('x', -6)
      .attr('y', t.at)
      .attr('dy', '0.32em')
      .attr('text-anchor', 'end')
      .text(o.measure === 'proportion' ? percent(t.value) : count(t.value))
  }
  for (const t of l.xTicks)
    axis
      .append('text')
      .attr('x', t.at)
      .attr('y', plotH + 18)
      .attr('text-anchor', 'middle')
      .text(t.label)
  for (const s of l.series) {
    const line = g.append('g').attr('class', 'series').attr('data-value', s.value)
    line.append('path').attr('d', s.path).attr('fill', 'none').attr('stroke', s.color).attr('stroke-width', 2)
    for (const p of s.points) {
      const dot = line
        .append('circle')
        .attr('cx', p.x)
        .attr('cy', p.y)
        .attr('r', s.points.length > 40 ? 1.5 : 3)
        .attr('fill', s.color)
      dot.append('title').text(`${s.value} on ${p.date}: ${count(p.users)} users`)
    }
  }
  if (items.length === 0)
    svg
      .append('text')
      .attr('x', l.width / 2)
      .attr('y', l.height / 2)
      .attr('text-anchor', 'middle')
      .attr('fill', '#6b7280')
      .text('No history in this range')
  return svg.node() as SVGSVGElement
}
