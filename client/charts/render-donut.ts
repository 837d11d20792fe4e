import { clip, count, percent, type ChartDatum } from './chart-data.ts'
import { layoutDonut } from './donut-layout.ts'
import { newSvg } from './svg.ts'

export interface RenderDonutOptions {
  size: number
  width?: number
  title?: string
  document?: Document
}

/** Renders a donut of users per value with a legend on the right → a detached <svg>. */
export function renderDonut(data: readonly ChartDatum[], o: RenderDonutOptions): SVGSVGElement {
  const l = layoutDonut(data, { size: o.size })
  const legendRows = Math.min(data.length, Math.floor((o.size - 8) / 20))
  const width = o.width ?? o.size + 260
  const svg = newSvg(width, o.size, o.title ?? 'Users per value', o.document)
  svg.attr('class', 'chart chart-donut')
  const g = svg.append('g').attr('transform', `translate(${o.size / 2},${o.size / 2})`)
  for (const s of l.slices) {
    const item = g.append('g').attr('class', 'slice').attr('data-value', s.label)
    item.append('path').attr('d', s.path).attr('fill', s.color).attr('stroke', '#fff').attr('stroke-width', 1)
    item.append('title').text(`${s.label}: ${count(s.users)} users (${percent(s.proportion)})`)
    if (s.endAngle - s.startAngle > 0.35)
      item
        .append('text')
        .attr('transform', `translate(${s.labelAt[0]},${s.labelAt[1]})`)
        .attr('text-anchor', 'middle')
        .attr('dy', '0.32em')
        .attr('fill', '#fff')
        .attr('font-size', 11)
        .text(percent(s.proportion))
  }
  g.append('text')
    .attr('text-anchor', 'middle')
    .attr('dy', '-0.2em')
    .attr('font-size', 20)
    .attr('font-weight', 600)
    .attr('fill', '#111827')
    .text(count(l.coveredUsers))
  g.append('text').attr('text-anchor', 'middle').attr('dy', '1.2em').attr('fill', '#6b7280').text('users shown')
  const legend = svg
    .append('g')
    .attr('class', 'legend')
    .attr('transform', `translate(${o.size + 16},${Math.max(8, (o.size - legendRows * 20) / 2)})`)
  l.slices.slice(0, legendRows).forEach((s, i) => {
    const row = legend.append('g').attr('transform', `translate(0,${i * 20})`)
    row.append('rect').attr('width', 12).attr('height', 12).attr('rx', 2).attr('fill', s.color)
    row
      .append('text')
      .attr('x', 18)
      .attr('y', 6)
      .attr('dy', '0.32em')
      .attr('fill', '#111827')
      .text(`${clip(s.label, 22)} — ${percent(s.proportion)}`)
  })
  if (data.length > legendRows)
    legend
      .append('text')
      .attr('y', legendRows * 20 + 6)
      .attr('fill', '#6b7280')
      .text(`+${data.length - legendRows} more`)
  if (data.length === 0)
    svg
      .append('text')
      .attr('x', width / 2)
      .attr('y', o.size / 2)
      .attr('text-anchor', 'middle')
      .attr('fill', '#6b7280')
      .text('No values yet')
  return svg.node() as SVGSVGElement
}
