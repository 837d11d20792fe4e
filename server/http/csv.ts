/** CSV export framing; cells and lines (with formula neutralisation) come from engine/csv-cells.ts. */
export { csvCell, csvLine } from '../../engine/csv-cells.ts'

/** Exports start with a BOM so spreadsheets read them as UTF-8. */
export const UTF8_BOM = '\uFEFF'

/** A Content-Disposition value that downloads as `filename` (ASCII-safe). */
export function attachment(filename: string): string {
  const safe = filename.replace(/[^A-Za-z0-9._-]/g, '_')
  return `attachment; filename="${safe}"`
}
