/** One stored key as an interval of numbers: exact values are points. Null: not a number key. */
export function keyInterval(key: string): { lo: number; hi: number; hiClosed: boolean } | null {
  if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(key)) {
    const v = Number(key)
    return { lo: v, hi: v, hiClosed: true }
  }
  const m = /^([[(])([^,]+),([^,]+)([\])])$/.exec(key)
  if (!m) return null
  const lo = m[2] === '-∞' ? -Infinity : Number(m[2])
  const hi = m[3] === '+∞' ? Infinity : Number(m[3])
  if (Number.isNaN(lo) || Number.isNaN(hi)) return null
  return { lo, hi, hiClosed: m[4] === ']' }
}
