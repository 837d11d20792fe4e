import type { DataType } from '../../shared/schemas/label.ts'

/** SQL column type of each label data type (the compiler's contract, ARCHITECTURE.md). */
export const resultSqlType: Record<DataType, string> = {
  string: 'text',
  number: 'double precision',
  boolean: 'boolean',
  date: 'timestamptz',
  collection: 'text[]',
}

/** The rows of a source that count as covered: a value, and for collections a non-empty one. */
export function coveredFilter(dataType: DataType): string {
  return dataType === 'collection' ? 'value IS NOT NULL AND cardinality(value) > 0' : 'value IS NOT NULL'
}

/** A source statement of the result shape that yields no rows (an import label without values). */
export function noValuesSql(dataType: DataType): string {
  return `SELECT NULL::int AS uid, NULL::${resultSqlType[dataType]} AS value WHERE false`
}

/** A stored result value in its structured-clonable, JSON-friendly shape (dates as ISO strings). */
export function outputValue(dataType: DataType, v: unknown): unknown {
  if (dataType === 'date') return v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()
  if (dataType === 'number' && typeof v === 'string') return Number(v)
  return v
}
