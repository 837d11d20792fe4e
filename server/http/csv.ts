import type { FastifyReply } from 'fastify'

/** CSV export framing; cells and lines (with formula neutralisation) come from engine/csv-cells.ts. */
export { csvCell, csvLine } from '../../engine/csv-cells.ts'

/** Exports start with a BOM so spreadsheets read them as UTF-8. */
export const UTF8_BOM = '\uFEFF'

/** A Content-Disposition value that downloads as `filename` (ASCII-safe). */
export function attachment(filename: string): string {
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, '_')
  return `attachment; filename="${safe}"`
}

/**
 * Sends a CSV export as a download: the route's JSON response schema doesn't apply to it (the text
 * passes as is), so it goes out through the untyped reply.
 */
export function sendCsv(reply: FastifyReply, filename: string, csv: string): FastifyReply {
  return reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', attachment(filename))
    .serializer((x) => x as string)
    .send(csv)
}
