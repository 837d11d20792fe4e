/**
 * CSV writing for exports (distribution, history, audience): UTF-8 text, CRLF line ends
 * (RFC 4180), cells quoted when they hold a comma, quote, CR or LF.
 *
 * Formula injection (OWASP "CSV Injection"): a text cell starting with = + - @ TAB or CR
 * gets a leading single quote so a spreadsheet shows it instead of running it. Plain
 * numbers are left alone, so -12.5 and +3 stay numbers: they can't carry a formula, and
 * quoting them would turn negative values into text in every export.
 */
import { isPlainNumber } from '../shared/formats.ts'

const formulaStart = /^[=+\-@\t\r]/

/** The text of one cell: null → empty, dates → ISO, collections → elements joined by "|" (the import format). */
function cellText(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(cellText).join('|')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** One cell, neutralised and quoted as needed. */
export function csvCell(v: unknown): string {
  let s = cellText(v)
  if (typeof v !== 'number' && formulaStart.test(s) && !isPlainNumber(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** One record terminated by CRLF. */
export function csvLine(cells: readonly unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n'
}

/** A whole CSV document: header then rows. */
export function toCsv(header: readonly string[], rows: Iterable<readonly unknown[]>): string {
  let out = csvLine(header)
  for (const r of rows) out += csvLine(r)
  return out
}
