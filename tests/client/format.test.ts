import { describe, expect, it } from 'vitest'
import {
  dateTimeTitle,
  formatCount,
  formatDate,
  formatDateTime,
  formatDayShort,
  formatPercent,
} from '../../client/ui/format.ts'

// One number format and one date-time format for the whole page (issue 9 item 7): the
// browser's locale shapes them, the workspace time zone places every instant and is named.

describe('number formats', () => {
  it('writes counts with the locale grouping, whole', () => {
    expect(formatCount(20000, { locale: 'en-US' })).toBe('20,000')
    expect(formatCount(20000, { locale: 'de-DE' })).toBe('20.000')
    expect(formatCount(1234.6, { locale: 'en-US' })).toBe('1,235')
    expect(formatCount(0, { locale: 'en-US' })).toBe('0')
  })

  it('writes shares with one decimal, and tiny non-zero shares as <0.1%', () => {
    expect(formatPercent(0.1234, { locale: 'en-US' })).toBe('12.3%')
    expect(formatPercent(0, { locale: 'en-US' })).toBe('0.0%')
    expect(formatPercent(0.0004, { locale: 'en-US' })).toBe('<0.1%')
    expect(formatPercent(0.5, { locale: 'de-DE' })).toBe('50,0\u00a0%')
  })
})

describe('date formats', () => {
  it('writes calendar dates without shifting them by a zone', () => {
    expect(formatDate('2024-03-01', { locale: 'en-US' })).toBe('Mar 1, 2024')
    expect(formatDayShort('2024-12-31', { locale: 'en-US' })).toBe('Dec 31')
    expect(formatDate('not a date', { locale: 'en-US' })).toBe('not a date')
  })

  it('writes instants in the workspace time zone and names the zone', () => {
    const at = '2024-03-01T18:30:00Z'
    expect(formatDateTime(at, 'UTC', { locale: 'en-GB' })).toBe('1 Mar 2024, 18:30 UTC')
    // 18:30 UTC is 02:30 the next day in Shanghai: the date moves with the zone.
    expect(formatDateTime(at, 'Asia/Shanghai', { locale: 'en-GB' })).toBe('2 Mar 2024, 02:30 GMT+8')
    expect(formatDateTime(null, 'UTC')).toBe('—')
    expect(formatDateTime('garbage', 'UTC')).toBe('—')
  })

  it("says in the tooltip which zone it is, and the viewer's own clock when it differs", () => {
    const t = dateTimeTitle('2024-03-01T18:30:00Z', 'Pacific/Kiritimati', { locale: 'en-GB' })
    expect(t).toContain('Workspace time zone: Pacific/Kiritimati')
    expect(t).toContain('your clock:')
  })
})
