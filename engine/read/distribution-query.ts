import type { DistributionQuery } from '../api.ts'
import { LabelsError } from '../../shared/errors.ts'

/** A distribution query with its defaults applied. `top` is Infinity only for history snapshots. */
export interface ResolvedQuery {
  top: number
  sort: 'users' | 'value'
  order: 'asc' | 'desc'
  bins: number | undefined
  boundaries: number[] | undefined
  granularity: 'day' | 'week' | 'month'
}

/** Longest Top N list (docs/api.md#distribution) and the default when none is asked: every item up to it. */
export const maxTop = 50
export const maxBins = 50
export const defaultBins = 10

const bad = (path: string, message: string) => new LabelsError('bad_request', message, path)

/** Accepts a number or a numeric string (query strings arrive as text). */
function toNumber(v: unknown, path: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN
  if (!Number.isFinite(n)) throw bad(path, `${path.slice(1)} must be a number, got ${JSON.stringify(v)}`)
  return n
}

function intIn(v: unknown, path: string, min: number, max: number): number {
  const n = toNumber(v, path)
  if (!Number.isInteger(n) || n < min || n > max)
    throw bad(path, `${path.slice(1)} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
  return n
}

export function oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T
  throw bad(path, `${path.slice(1)} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`)
}

/** Boundaries as an array or a comma-separated string; strictly increasing, 1–49 of them (≤ 50 intervals). */
export function boundaries(v: unknown): number[] {
  const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : null
  if (!list || list.length === 0) throw bad('/boundaries', 'boundaries must be a non-empty list of numbers')
  if (list.length > maxBins - 1) throw bad('/boundaries', `at most ${maxBins - 1} boundaries (${maxBins} intervals)`)
  const out = list.map((x, i) => toNumber(typeof x === 'string' ? x.trim() : x, `/boundaries/${i}`))
  for (let i = 1; i < out.length; i++) {
    if ((out[i] as number) <= (out[i - 1] as number))
      throw bad(`/boundaries/${i}`, 'boundaries must be strictly increasing')
  }
  return out
}

/**
 * Validates a distribution query and applies the defaults: top 50 (every item up to the
 * maximum of docs/api.md#distribution), sort by users, descending, granularity day. Options that don't apply to
 * the label's data type (bins on a string label) are checked for form but otherwise ignored,
 * so a client can send one query shape for every label. Giving both bins and boundaries is
 * ambiguous and refused.
 */
export function resolveQuery(q: DistributionQuery | undefined): ResolvedQuery {
  const query = (q ?? {}) as Record<string, unknown>
  const has = (k: string) => query[k] !== undefined && query[k] !== null && query[k] !== ''
  if (has('bins') && has('boundaries')) throw bad('/boundaries', 'give either bins or boundaries, not both')
  return {
    top: has('top') ? intIn(query.top, '/top', 1, maxTop) : maxTop,
    sort: has('sort') ? oneOf(query.sort, '/sort', ['users', 'value'] as const) : 'users',
    order: has('order') ? oneOf(query.order, '/order', ['asc', 'desc'] as const) : 'desc',
    bins: has('bins') ? intIn(query.bins, '/bins', 1, maxBins) : undefined,
    boundaries: has('boundaries') ? boundaries(query.boundaries) : undefined,
    granularity: has('granularity')
      ? oneOf(query.granularity, '/granularity', ['day', 'week', 'month'] as const)
      : 'day',
  }
}

/** The query history snapshots use: the default buckets, every item. */
export const snapshotQuery: ResolvedQuery = {
  top: Infinity,
  sort: 'value',
  order: 'asc',
  bins: undefined,
  boundaries: undefined,
  granularity: 'day',
}
