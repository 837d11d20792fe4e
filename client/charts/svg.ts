import { select, type Selection } from 'd3'

export type Svg = Selection<SVGSVGElement, undefined, null, undefined>

/** A new detached <svg> with viewBox and accessible title, made in `doc` (Plot's `document` option). */
export function newSvg(width: number, height: number, title: string, doc: Document = document): Svg {
  const node = doc.createElementNS('http://www.w3.org/2000/svg', 'svg')
  const svg = select(node) as unknown as Svg
  svg
    .attr('xmlns', 'http://www.w3.org/2000/svg')
    .attr('viewBox', `0 0 ${width} ${height}`)
    .attr('width', width)
    .attr('height', height)
    .attr('role', 'img')
    .attr('font-family', 'system-ui, -apple-system, Segoe UI, sans-serif')
    .attr('font-size', 12)
  svg.append('title').text(title)
  return svg
}
