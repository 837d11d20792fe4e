import { expect, it } from 'vitest'
import { csvCell, csvLine, toCsv } from '../../../engine/csv-cells.ts'

it('quotes cells holding a comma, quote, CR or LF and doubles quotes', () => {
  expect(csvCell('plain')).toBe('plain')
  expect(csvCell('a,b')).toBe('"a,b"')
  expect(csvCell('say "hi"')).toBe('"say ""hi"""')
  expect(csvCell('two\nlines')).toBe('"two\nlines"')
  expect(csvCell('cr\r')).toBe('"cr\r"')
})

it('neutralises cells a spreadsheet would run as a formula', () => {
  expect(csvCell('=1+2')).toBe("'=1+2")
  expect(csvCell('+SUM(A1)')).toBe("'+SUM(A1)")
  expect(csvCell('-2+3')).toBe("'-2+3")
  expect(csvCell('@cmd')).toBe("'@cmd")
  expect(csvCell('\tx')).toBe("'\tx")
  expect(csvCell('\rx')).toBe('"\'\rx"')
  expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"')
})

it('keeps plain numbers, negative or signed, as numbers', () => {
  expect(csvCell(-12.5)).toBe('-12.5')
  expect(csvCell('-12.5')).toBe('-12.5')
  expect(csvCell('+3')).toBe('+3')
  expect(csvCell('-1e3')).toBe('-1e3')
  expect(csvCell('-1-1')).toBe("'-1-1")
})

it('writes empty cells for null, ISO for dates, collections joined by |', () => {
  expect(csvLine([null, undefined, true, new Date('2024-01-02T03:04:05Z'), ['a', '=b']])).toBe(
    ',,true,2024-01-02T03:04:05.000Z,a|=b\r\n',
  )
  expect(csvLine([['=a', 'b']])).toBe("'=a|b\r\n")
  expect(
    toCsv(
      ['value', 'users'],
      [
        ['a', 1],
        ['b,c', 2],
      ],
    ),
  ).toBe('value,users\r\na,1\r\n"b,c",2\r\n')
})
