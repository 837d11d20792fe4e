import { badRequest } from '../../shared/errors.ts'

/** A query value that may repeat (?v=a&v=b) or be comma-separated (?v=a,b) → a flat list. */
export function listParam(v: string | string[] | undefined, split: boolean): string[] | undefined {
  if (v === undefined) return undefined
  const all = Array.isArray(v) ? v : [v]
  return split
    ? all
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== '')
    : all
}

/** `boundaries` as strictly increasing finite numbers; 400 naming the bad one. */
export function parseBoundaries(v: string | string[] | undefined): number[] | undefined {
  const list = listParam(v, true)
  if (!list) return undefined
  const nums = list.map(Number)
  nums.forEach((n, i) => {
    if (!Number.isFinite(n)) throw badRequest(`boundary "${list[i]}" is not a number`, `/query/boundaries/${i}`)
    if (i > 0 && n <= nums[i - 1]!) throw badRequest('boundaries must increase strictly', `/query/boundaries/${i}`)
  })
  if (nums.length === 0 || nums.length > 49) throw badRequest('give 1 to 49 boundaries', '/query/boundaries')
  return nums
}

/** A YYYY-MM-DD date; 400 otherwise. */
export function parseDay(v: string | undefined, path: string): string | undefined {
  if (v === undefined) return undefined
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)))
    throw badRequest(`${path}: "${v}" is not a YYYY-MM-DD date`, path)
  return v
}
