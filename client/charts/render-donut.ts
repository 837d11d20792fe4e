import { formatCount, formatPercent } from '../ui/format.ts'
import type { ChartDatum } from './chart-data.ts'
import { layoutDonut } from './donut-layout.ts'
import { appendItem, drawEmpty, newSvg, r2 } from './svg.ts'

export interface RenderDonutOptions {
  width: number
  height?: number
  /** Ring diameter (default: from the width and height). */
  size?: number
  title?: string
  locale?: string
  document?: Document
}

/** Renders a donut of users per value with its legend → a detached <svg> (exactly the layout). */
export function renderDonut(data: readonly ChartDatum[], o: RenderDonutOptions): SVGSVGElement {
  const l = layoutDonut(data, o)
  const loc = { locale: o.locale }
  const svg = newSvg(l.width, l.height, o.title ?? 'Users per value', o.document)
  svg.attr('class', 'chart chart-donut')
  const g = svg.append('g').attr('transform', `translate(${r2(l.cx)},${r2(l.cy)})`)
  const ring = g.append('g').attr('class', 'slices').attr('role', 'list').attr('aria-label', 'Values')
  for (const s of l.slices) {
    const item = appendItem(ring, 'slice', { key: s.key, value: s.label }, s.tip)
    item.append('path').attr('d', s.path).attr('fill', s.color).attr('stroke', '#fff').attr('stroke-width', 1)
    if (s.labelAt)
      item
        .append('text')
        .attr('transform', `translate(${r2(s.labelAt[0])},${r2(s.labelAt[1])})`)
        .attr('text-anchor', 'middle')
        .attr('dy', '0.32em')
        .attr('fill', '#fff')
        .attr('font-size', 11)
        .attr('pointer-events', 'none')
        .text(formatPercent(s.proportion, loc))
  }
  g.append('text')
    .attr('text-anchor', 'middle')
    .attr('dy', '-0.2em')
    .attr('font-size', 20)
    .attr('font-weight', 600)
    .attr('fill', '#111827')
    .text(formatCount(l.coveredUsers, loc))
  g.append('text').attr('text-anchor', 'middle').attr('dy', '1.2em').attr('fill', '#6b7280').text('users shown')
  const legend = svg.append('g').attr('class', 'legend')
  for (const row of l.legend) {
    const r = legend
      .append('g')
      .attr('class', 'legend-row')
      .attr('data-key', row.key)
      .attr('transform', `translate(${r2(row.x)},${r2(row.y)})`)
    r.append('rect').attr('width', 12).attr('height', 12).attr('rx', 2).attr('fill', row.color)
    r.append('text').attr('x', 18).attr('y', 6).attr('dy', '0.32em').attr('fill', '#111827').text(row.text)
  }
  if (data.length === 0) drawEmpty(svg, l.width, l.height, 'No values yet')
  return svg.node() as SVGSVGElement
}
