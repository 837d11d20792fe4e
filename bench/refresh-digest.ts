// A label's results in a few numbers, to check that every engine computed the same thing: the
// row count and, per value, its users (strings, booleans, collections), or the sum of the values
// (numbers; dates as epoch ms).
import type { SqlExecutor } from '../engine/sql-executor.ts'
import type { DataType } from '../shared/schemas/label.ts'

export interface Digest {
  rows: number
  sum?: number
  counts?: Record<string, number>
}

/** The digest of a label's current results in the engine (through label_state). */
export async function engineDigest(db: SqlExecutor, labelId: string, dataType: DataType): Promise<Digest> {
  const st = await db.query<{ result_table: string }>(`SELECT result_table FROM label_state WHERE label_id = $1`, [
    labelId,
  ])
  const t = st.rows[0]?.result_table
  if (!t) return { rows: -1 }
  if (dataType === 'number' || dataType === 'date') {
    const v = dataType === 'date' ? '(extract(epoch FROM value) * 1000)::float8' : 'value'
    const r = await db.query<{ n: number; s: number }>(
      `SELECT count(*)::float8 AS n, coalesce(sum(${v}), 0)::float8 AS s FROM ${t}`,
    )
    return { rows: Number(r.rows[0]?.n), sum: Number(r.rows[0]?.s) }
  }
  const v = dataType === 'collection' ? `array_to_string(value, '|')` : 'value::text'
  const r = await db.query<{ v: string; n: number }>(`SELECT ${v} AS v, count(*)::int AS n FROM ${t} GROUP BY 1`)
  const counts: Record<string, number> = {}
  let rows = 0
  for (const x of r.rows) {
    counts[x.v] = Number(x.n)
    rows += Number(x.n)
  }
  return { rows, counts }
}

/** Equal digests (sums to 1e-9 relative: the engines add floating-point numbers in different orders). */
export function sameDigest(a: Digest, b: Digest): boolean {
  if (a.rows !== b.rows) return false
  if (a.sum !== undefined || b.sum !== undefined) {
    const x = a.sum ?? 0
    const y = b.sum ?? 0
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y))
  }
  const ka = Object.keys(a.counts ?? {})
  if (ka.length !== Object.keys(b.counts ?? {}).length) return false
  return ka.every((k) => a.counts?.[k] === b.counts?.[k])
}
