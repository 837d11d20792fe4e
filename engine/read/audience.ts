import type { AudiencePage } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'
import { numberPattern } from '../../shared/formats.ts'
import { outputValue } from '../calc/value-types.ts'
import { isVanishedTable, loadLabelState, readCurrent, type LabelState } from './label-state.ts'

export const defaultAudienceLimit = 1000
export const maxAudienceLimit = 10000

const bad = (message: string, path: string) => new LabelsError('bad_request', message, path)
const num = numberPattern
const intervalRe = new RegExp(`^([\\[(])(-∞|-inf|${num}),(\\+∞|\\+?inf|${num})([\\])])$`)

interface Filter {
  sql: string
  params: unknown[]
}

/** A number filter: an exact value, or a distribution interval label such as "[10,20)", "(-∞,5)" or "[50,+∞)". */
function numberFilter(v: string): Filter {
  const m = intervalRe.exec(v.replace(/\s+/g, ''))
  if (m) {
    const [, open, lo, hi, close] = m as unknown as [string, string, string, string, string]
    const parts: string[] = []
    const params: unknown[] = []
    if (!lo.includes('∞') && !lo.includes('inf'))
      parts.push(`value ${open === '[' ? '>=' : '>'} $${params.push(Number(lo)) + 2}::float8`)
    if (!hi.includes('∞') && !hi.includes('inf'))
      parts.push(`value ${close === ']' ? '<=' : '<'} $${params.push(Number(hi)) + 2}::float8`)
    return { sql: parts.length ? parts.join(' AND ') : 'true', params }
  }
  const n = v.trim() === '' ? NaN : Number(v)
  if (!Number.isFinite(n))
    throw bad(`value must be a number or an interval like [10,20), got ${JSON.stringify(v)}`, '/value')
  return { sql: 'value = $3::float8', params: [n] }
}

/**
 * How `value` selects users, per data type: string → equal; collection → has that element;
 * boolean → "true"/"false"; number → the exact value or an interval label of the
 * distribution; date → a day "YYYY-MM-DD" in the results' time zone, or an exact ISO instant.
 * Parameter $1 is the cursor, $2 the page size, filters start at $3.
 */
function valueFilter(dataType: DataType, v: string, tz: string): Filter {
  switch (dataType) {
    case 'string':
      return { sql: 'value = $3::text', params: [v] }
    case 'collection':
      return { sql: '$3::text = ANY(value)', params: [v] }
    case 'boolean': {
      const low = v.trim().toLowerCase()
      if (low !== 'true' && low !== 'false')
        throw bad(`value must be true or false, got ${JSON.stringify(v)}`, '/value')
      return { sql: 'value = $3::boolean', params: [low === 'true'] }
    }
    case 'number':
      return numberFilter(v)
    case 'date': {
      if (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)))
        return { sql: `(value AT TIME ZONE $4::text)::date = $3::date`, params: [v, tz] }
      if (!Number.isNaN(Date.parse(v))) return { sql: 'value = $3::timestamptz', params: [new Date(v).toISOString()] }
      throw bad(`value must be a date YYYY-MM-DD or an ISO timestamp, got ${JSON.stringify(v)}`, '/value')
    }
  }
}

/** Where the next page starts: after this uid, in this run's results. */
interface Cursor {
  uid: number
  runId: string
}

const cursorRe = /^(\d{1,10})\.(.+)$/s

/** A page token `<uid>.<runId>`: opaque to callers, it pins every later page to the first page's run. */
export const encodeCursor = (c: Cursor): string => `${c.uid}.${c.runId}`

function decodeCursor(after: string): Cursor {
  const m = cursorRe.exec(after)
  const uid = m ? Number(m[1]) : NaN
  if (!m || !Number.isSafeInteger(uid) || uid > 2147483647)
    throw bad(`after must be the nextCursor of the previous page, got ${JSON.stringify(after)}`, '/after')
  return { uid, runId: m[2] as string }
}

/** The answer to a page whose run's results were replaced (or removed) since the first page. */
function replaced(cursor: Cursor, current: string | null): LabelsError {
  const now = current === null ? 'the label has no results any more' : `the current results are run ${current}`
  return new LabelsError(
    'conflict',
    `the results this export pages through (run ${cursor.runId}) were replaced: ${now}; start again from the first page`,
    '/after',
    { runId: cursor.runId, currentRunId: current },
  )
}

/**
 * One page of a label's covered users ordered by uid; `after` is the previous page's
 * nextCursor. Every page after the first reads the run the first page read: the cursor carries
 * its runId, and once that run's results are replaced (by a swap or in place by the next run) a
 * page answers 409 conflict instead of continuing in another run's results.
 */
export async function labelAudience(
  db: SqlExecutor,
  labelId: string,
  query: { value?: string; after?: string; limit?: number },
): Promise<AudiencePage> {
  const cursor = query.after !== undefined ? decodeCursor(query.after) : null
  const limit = query.limit ?? defaultAudienceLimit
  if (!Number.isInteger(limit) || limit < 1 || limit > maxAudienceLimit)
    throw bad(`limit must be an integer from 1 to ${maxAudienceLimit}`, '/limit')
  const read = async (s: LabelState, exec: SqlExecutor): Promise<AudiencePage> => {
    const f = query.value !== undefined ? valueFilter(s.dataType, query.value, s.tz) : { sql: 'true', params: [] }
    const r = await exec.query<{ uid: number; user_id: string; value: unknown }>(
      `SELECT r.uid, u.user_id, r.value FROM ${s.table} r JOIN users u ON u.uid = r.uid
        WHERE r.uid > $1::int AND ${f.sql} ORDER BY r.uid LIMIT $2::int`,
      [cursor?.uid ?? 0, limit + 1, ...f.params],
    )
    const more = r.rows.length > limit
    const rows = more ? r.rows.slice(0, limit) : r.rows
    const last = rows[rows.length - 1]
    return {
      users: rows.map((x) => ({ userId: x.user_id, value: outputValue(s.dataType, x.value) })),
      nextCursor: more && last ? encodeCursor({ uid: last.uid, runId: s.runId }) : null,
      runId: s.runId,
    }
  }
  if (!cursor) return (await readCurrent(db, labelId, read)) ?? { users: [], nextCursor: null, runId: null }
  const state = await loadLabelState(db, labelId)
  if (!state || state.runId !== cursor.runId) throw replaced(cursor, state?.runId ?? null)
  let page: AudiencePage
  try {
    page = await read(state, db)
  } catch (e) {
    // The swap committed between resolving the pointer and reading: the pinned table is gone.
    if (!isVanishedTable(e)) throw e
    throw replaced(cursor, (await loadLabelState(db, labelId))?.runId ?? null)
  }
  // A run that writes only what changed keeps the table: it may have committed between resolving
  // the pointer and reading, the page then holding its rows. The pointer read after tells.
  const after = await loadLabelState(db, labelId)
  if (after?.runId !== cursor.runId) throw replaced(cursor, after?.runId ?? null)
  return page
}
