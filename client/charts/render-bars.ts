import { layoutBars, type BarOrientation } from './bar-layout.ts'
import { clip, count, percent, type ChartDatum } from './chart-data.ts'
import { newSvg } from './svg.ts'

export interface RenderBarsOptions {
  orientation: BarOrientation
  width: number
  height?: number
  title?: string
  color?: string
  document?: Document
}

/** Renders a bar (horizontal) or column (vertical) chart of users per value → a detached <svg>. */
export function renderBars(data: readonly ChartDatum[], o: RenderBarsOptions): SVGSVGElement {
  const l = layoutBars(data, o)
  const svg = newSvg(l.width, l.height, o.title ?? 'Users per value', o.document)
  svg.attr('class', `chart chart-${o.orientation}`)
  const g = svg.append('g').attr('transform', `translate(${l.margin.left},${l.margin.top})`)
  const color = o.color ?? '#4e79a7'
  const plotW = l.width - l.margin.left - l.margin.right
  const plotH = l.height - l.margin.top - l.margin.bottom
  // Grid lines along the value axis.
  const grid = g.append('g').attr('class', 'grid').attr('stroke', '#e5e7eb')
  for (const t of l.ticks) {
    if (o.orientation === 'bar') grid.append('line').attr('x1', t.at).attr('x2', t.at).attr('y1', 0).attr('y2', plotH)
    else grid.append('line').attr('y1', t.at).attr('y2', t.at).attr('x1', 0).attr('x2', plotW)
  }
  const axis = g.append('g').attr('class', 'axis').attr('fill', '#6b7280')
  for (const t of l.ticks) {
    if (o.orientation === 'bar')
      axis
        .append('text')
        .attr('x', t.at)
        .attr('y', plotH + 16)
        .attr('text-anchor', 'middle')
        .text(count(t.value))
    else
      axis
        .append('text')
        .attr('x', -6)
        .attr('y', t.at)
        .attr('dy', '0.32em')
        .attr('text-anchor', 'end')
        .text(count(t.value))
  }
  const bars = g.append('g').attr('class', 'bars')
  for (const b of l.bars) {
    const item = bars.append('g').attr('class', 'bar').attr('data-value', b.label)
    item
      .append('rect')
      .attr('x', b.x)
      .attr('y', b.y)
      .attr('width', Math.max(0, b.width))
      .attr('height', Math.max(0, b.height))
      .attr('rx', 2)
      .attr('fill', color)
    item.append('title').text(`${b.label}: ${count(b.users)} users (${percent(b.proportion)})`)
    if (o.orientation === 'bar') {
      item
        .append('text')
        .attr('class', 'category')
        .attr('x', -8)
        .attr('y', b.y + b.height / 2)
        .attr('dy', '0.32em')
        .attr('text-anchor', 'end')
        .attr('fill', '#111827')
        .text(clip(b.label, 28))
      item
        .append('text')
        .attr('class', 'amount')
        .attr('x', b.width + 6)
        .attr('y', b.y + b.height / 2)
        .attr('dy', '0.32em')
        .attr('fill', '#374151')
        .text(`${count(b.users)} · ${percent(b.proportion)}`)
    } else {
      item
        .append('text')
        .attr('class', 'amount')
        .attr('x', b.x + b.width / 2)
        .attr('y', b.y - 4)
        .attr('text-anchor', 'middle')
        .attr('fill', '#374151')
        .text(count(b.users))
      item
        .append('text')
        .attr('class', 'category')
        .attr('transform', `translate(${b.x + b.width / 2},${plotH + 10}) rotate(${l.bars.length > 8 ? -35 : 0})`)
        .attr('text-anchor', l.bars.length > 8 ? 'end' : 'middle')
        .attr('dy', '0.7em')
        .attr('fill', '#111827')
        .text(clip(b.label, 16))
    }
  }
  if (data.length === 0)
    svg
      .append('text')
      .attr('x', l.width / 2)
      .attr('y', l.height / 2)
      .attr('text-anchor', 'middle')
      .attr('fill', '#6b7280')
      .text('No values yet')
  return svg.node() as SVGSVGElement
}
