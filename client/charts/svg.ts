import { select, type Selection } from 'd3'
import type { TextMark } from './bar-layout.ts'

export type Svg = Selection<SVGSVGElement, undefined, null, undefined>
// biome-ignore lint/suspicious/noExplicitAny: a d3 selection of any SVG group
export type G = Selection<SVGGElement, any, any, any>

/** A new detached <svg> with viewBox and accessible title, made in `doc` (Plot's `document` option). */
export function newSvg(width: number, height: number, title: string, doc: Document = document): Svg {
  const node = doc.createElementNS('http://www.w3.org/2000/svg', 'svg')
  const svg = select(node) as unknown as Svg
  svg
    .attr('xmlns', 'http://www.w3.org/2000/svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('width', width)
    .attr('height', height)
    .attr('role', 'figure')
    .attr('aria-label', title)
    .attr('font-family', 'system-ui, -apple-system, Segoe UI, sans-serif')
    .attr('font-size', 12)
  svg.append('title').text(title)
  return svg
}

/**
 * One focusable chart item (a bar, a slice, a day): its `data-*` keys, the tooltip text
 * ChartMount shows on hover and focus, and its place in the list the arrow keys move through.
 */
export function appendItem(parent: G, cls: string, data: Record<string, string>, tip: string, label = tip): G {
  const item = parent.append('g').attr('class', `${cls} item`)
  for (const [k, v] of Object.entries(data)) item.attr(`data-${k}`, v)
  return item.attr('data-tip', tip).attr('tabindex', -1).attr('role', 'listitem').attr('aria-label', label)
}

/** Rounds a coordinate for the SVG text (2 decimals: stable snapshots, no visible difference). */
export const r2 = (n: number): number => Math.round(n * 100) / 100

/** Draws a layout's text mark: one <text>, a <tspan> per line, rotated about its anchor. */
export function drawText(parent: G, m: TextMark, cls: string, fill: string): void {
  const t = parent
    .append('text')
    .attr('class', cls)
    .attr('text-anchor', m.anchor)
    .attr('fill', fill)
    .attr('data-key', m.key)
  if (m.angle) t.attr('transform', `translate(${r2(m.x)},${r2(m.y)}) rotate(${m.angle})`)
  else t.attr('x', r2(m.x)).attr('y', r2(m.y))
  if (m.lines.length === 1) {
    t.attr('dy', `${m.dy}em`).text(m.lines[0]!)
    return
  }
  m.lines.forEach((line, i) => {
    const s = t
      .append('tspan')
      .attr('dy', i === 0 ? `${m.dy}em` : '1.25em')
      .text(line)
    s.attr('x', m.angle ? 0 : r2(m.x))
  })
}

/** The "nothing to draw" message in the middle of a chart. */
export function drawEmpty(svg: Svg, width: number, height: number, text: string): void {
  svg
    .append('text')
    .attr('class', 'empty')
    .attr('x', r2(width / 2))
    .attr('y', r2(height / 2))
    .attr('text-anchor', 'middle')
    .attr('fill', '#6b7280')
    .text(text)
}
