/**
 * PostgreSQL's text form of a `timestamptz` (`2026-12-06 19:00:00.123456+00`, `0050-01-01
 * 04:56:02+00`, `0001-01-01 00:00:00+00 BC`) as a Date, on PGlite and PostgreSQL alike. PGlite
 * handed it to `new Date()`, whose fallback parser reads a year below 100 as 19xx or 20xx: an
 * `asOf` of 0001-01-01 came back as 2001-01-01 (second black-box audit). Other text (`infinity`)
 * goes to `new Date()` as before.
 */
const form =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/

export function parseTimestamptz(text: string): Date {
  const m = form.exec(text)
  if (!m) return new Date(text)
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os, bc] = m
  let year = Number(y)
  if (bc) year = 1 - year // 1 BC is year 0
  const ms = Number(`${frac ?? ''}000`.slice(0, 3))
  const t = new Date(0)
  t.setUTCFullYear(year, Number(mo) - 1, Number(d))
  t.setUTCHours(Number(h), Number(mi), Number(s), ms)
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) : 0
  return new Date(t.getTime() - offset * 1000)
}
