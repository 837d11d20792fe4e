import { layoutBars, type BarOrientation } from './bar-layout.ts'
import type { ChartDatum } from './chart-data.ts'
import { appendItem, drawEmpty, drawText, newSvg, r2 } from './svg.ts'

export interface RenderBarsOptions {
  orientation: BarOrientation
  width: number
  height?: number
  title?: string
  color?: string
  /** Locale of the numbers (undefined = the browser's; snapshots fix it). */
  locale?: string
  document?: Document
}

/**
 * Renders a bar (horizontal) or column (vertical) chart of users per value → a detached <svg>.
 * It draws exactly the layout (client/charts/bar-layout.ts): no decisions here. Each bar is a
 * focusable item with its tooltip in `data-tip` (ChartMount shows it on hover and focus).
 */
export function renderBars(data: readonly ChartDatum[], o: RenderBarsOptions): SVGSVGElement {
  const l = layoutBars(data, o)
  const svg = newSvg(l.width, l.height, o.title ?? 'Users per value', o.document)
  svg.attr('class', `chart chart-${o.orientation}`).attr('data-label-mode', l.labelMode)
  const g = svg.append('g').attr('transform', `translate(${l.margin.left},${l.margin.top})`)
  const color = o.color ?? '#4e79a7'
  const plotW = l.width - l.margin.left - l.margin.right
  const plotH = l.height - l.margin.top - l.margin.bottom
  // Grid lines along the value axis, and the tick labels.
  const grid = g.append('g').attr('class', 'grid').attr('stroke', '#e5e7eb')
  const axis = g.append('g').attr('class', 'axis').attr('fill', '#6b7280')
  for (const t of l.ticks) {
    if (o.orientation === 'bar') {
      grid.append('line').attr('x1', r2(t.at)).attr('x2', r2(t.at)).attr('y1', 0).attr('y2', r2(plotH))
      axis
        .append('text')
        .attr('x', r2(t.at))
        .attr('y', r2(plotH + 16))
        .attr('text-anchor', 'middle')
        .text(t.label)
    } else {
      grid.append('line').attr('y1', r2(t.at)).attr('y2', r2(t.at)).attr('x1', 0).attr('x2', r2(plotW))
      axis
        .append('text')
        .attr('x', -6)
        .attr('y', r2(t.at))
        .attr('dy', '0.32em')
        .attr('text-anchor', 'end')
        .text(t.label)
    }
  }
  const bars = g.append('g').attr('class', 'bars').attr('role', 'list').attr('aria-label', 'Values')
  for (const b of l.bars) {
    const item = appendItem(bars, 'bar', { key: b.key, value: b.label }, b.tip)
    item
      .append('rect')
      .attr('x', r2(b.x))
      .attr('y', r2(b.y))
      .attr('width', r2(Math.max(0, b.width)))
      .attr('height', r2(Math.max(0, b.height)))
      .attr('rx', 2)
      .attr('fill', color)
  }
  const labels = g.append('g').attr('class', 'labels')
  for (const m of l.categoryLabels) drawText(labels, m, 'category', '#111827')
  for (const m of l.valueLabels) drawText(labels, m, 'amount', '#374151')
  if (data.length === 0) drawEmpty(svg, l.width, l.height, 'No values yet')
  return svg.node() as SVGSVGElement
}
