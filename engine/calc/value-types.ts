import type { DataType } from '../../shared/schemas/label.ts'

/** SQL column type of each label data type (the compiler's contract, ARCHITECTURE.md). */
export const resultSqlType: Record<DataType, string> = {
  string: 'text',
  number: 'double precision',
  boolean: 'boolean',
  date: 'timestamptz',
  collection: 'text[]',
}

/** A stored result value in its structured-clonable, JSON-friendly shape (dates as ISO strings). */
export function outputValue(dataType: DataType, v: unknown): unknown {
  if (dataType === 'date') return v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()
  if (dataType === 'number' && typeof v === 'string') return Number(v)
  return v
}
