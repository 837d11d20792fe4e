import type { Definition, ImportReport } from '../api.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { LabelsError } from '../../shared/errors.ts'
import { convert, parseIsoTime } from '../ingest/values.ts'
import { loadLabelState } from '../read/label-state.ts'
import { CsvParser, UnterminatedQuote, type CsvRecord } from '../ingest/csv-parser.ts'
import { finishResults, runErrorMessage } from './execute-run.ts'
import { keyResultTable, resultTableFor } from './result-swap.ts'
import { storedUids } from '../storage/users.ts'
import { failRun, insertRun, startRun } from './runs.ts'

export interface ImportInput {
  labelId: string
  dataType: DataType
  csv: string
  mode: 'replace' | 'merge'
  tz: string
  definition: Definition
  /** Store the good rows and report the rest, as ingestion does (docs/api.md#ingestion). */
  skipInvalid?: boolean
  /** How many errors the report lists (default 100); invalidRows counts them all. */
  maxErrors?: number
  /** The run's id, when the caller announced it already (queued, then running). */
  runId?: string
}

interface Row {
  row: number
  userId: string
  value: string
}

const batchSize = 200_000 // one join per statement: each one hashes or scans users

/**
 * Parses one import cell for the data type into the text the database casts, or says why not.
 * string: any non-empty text, kept as written. number: a decimal number. boolean: true/false/1/0
 * (any case). date: YYYY-MM-DD (midnight in the workspace time zone) or an ISO date-time (no
 * offset = UTC, as in ingestion). collection: a JSON array of strings, or elements separated
 * by "|" ("vip|sms"); elements are trimmed, empty ones dropped, duplicates removed.
 */
export function parseImportValue(
  dataType: DataType,
  raw: string,
): { ok: true; value: string } | { ok: false; reason: string } {
  const t = raw.trim()
  if (t === '') return { ok: false, reason: 'empty value' }
  switch (dataType) {
    case 'string':
      return { ok: true, value: raw }
    case 'number': {
      const c = convert({ kind: 'text', value: t }, 'number')
      return c.ok
        ? { ok: true, value: String(c.value) }
        : { ok: false, reason: `${JSON.stringify(raw)} is not a number` }
    }
    case 'boolean': {
      const low = t.toLowerCase()
      if (low === 'true' || low === '1') return { ok: true, value: 'true' }
      if (low === 'false' || low === '0') return { ok: true, value: 'false' }
      return { ok: false, reason: `${JSON.stringify(raw)} is not a boolean (true/false/1/0)` }
    }
    case 'date': {
      if (/^\d{4}-\d{2}-\d{2}$/.test(t))
        return parseIsoTime(t) ? { ok: true, value: t } : { ok: false, reason: `${JSON.stringify(raw)} is not a date` }
      const iso = parseIsoTime(t)
      return iso
        ? { ok: true, value: iso }
        : { ok: false, reason: `${JSON.stringify(raw)} is not an ISO date or date-time` }
    }
    case 'collection':
      return parseCollection(t)
  }
}

function parseCollection(t: string): { ok: true; value: string } | { ok: false; reason: string } {
  let items: unknown[]
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t)
      if (!Array.isArray(v)) return { ok: false, reason: 'not a JSON array' }
      items = v
    } catch {
      return { ok: false, reason: `${JSON.stringify(t)} is not a JSON array` }
    }
    if (items.some((x) => typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean')) {
      return { ok: false, reason: 'collection elements must be strings' }
    }
  } else items = t.split('|')
  const set = [...new Set(items.map((x) => String(x).trim()).filter((x) => x !== ''))]
  if (set.length === 0) return { ok: false, reason: 'empty collection' }
  return { ok: true, value: JSON.stringify(set) }
}

/** SQL turning the text parameter `v` into the result type. */
function castSql(dataType: DataType): string {
  switch (dataType) {
    case 'string':
      return 'v'
    case 'number':
      return 'v::float8'
    case 'boolean':
      return 'v::boolean'
    case 'date':
      return `CASE WHEN length(v) = 10 THEN v::timestamp AT TIME ZONE $3::text ELSE v::timestamptz END`
    case 'collection':
      return 'ARRAY(SELECT jsonb_array_elements_text(v::jsonb))'
  }
}

/** Every record of the file; blank lines skipped; an unterminated quote ends the file with an error. */
function* csvRecords(text: string): Generator<CsvRecord & { error?: string }> {
  const p = new CsvParser()
  for (const r of p.push(text)) if (!(r.fields.length === 1 && r.fields[0] === '')) yield r
  try {
    for (const r of p.end()) if (!(r.fields.length === 1 && r.fields[0] === '')) yield r
  } catch (e) {
    if (!(e instanceof UnterminatedQuote)) throw e
    yield { record: e.record, fields: [], error: 'unterminated quoted field' }
  }
}

/** Reads the file: header `user_id,value` optional; rows are numbered as ingestion does (record number, header excluded). */
function readRows(input: ImportInput, errors: Array<{ row: number; reason: string }>): Row[] {
  const rows: Row[] = []
  const seen = new Map<string, number>()
  let headerRows = 0
  let first = true
  for (const rec of csvRecords(input.csv)) {
    if (first) {
      first = false
      const [a, b] = rec.fields.map((f) => f.trim().toLowerCase())
      if (a === 'user_id' && b === 'value' && rec.fields.length === 2) {
        headerRows = 1
        continue
      }
    }
    const row = Math.max(1, rec.record - headerRows)
    if (rec.error) {
      errors.push({ row, reason: rec.error })
      break
    }
    if (rec.fields.length !== 2) {
      errors.push({ row, reason: `expected 2 fields (user_id,value), got ${rec.fields.length}` })
      continue
    }
    const userId = rec.fields[0] as string // as written, as ingestion keeps it
    if (userId.trim() === '') {
      errors.push({ row, reason: 'user_id is empty' })
      continue
    }
    const prev = seen.get(userId)
    if (prev !== undefined) {
      errors.push({ row, reason: `user_id ${JSON.stringify(userId)} appears again (first at row ${prev})` })
      continue
    }
    seen.set(userId, row)
    const v = parseImportValue(input.dataType, rec.fields[1] as string)
    if (!v.ok) errors.push({ row, reason: v.reason })
    else rows.push({ row, userId, value: v.value })
  }
  return rows
}

/** The uid of each user_id (undefined for unknown ones), one statement per batch. */
async function lookupUids(db: SqlExecutor, userIds: string[]): Promise<Array<number | undefined>> {
  const uids = new Map<string, number>()
  for (let i = 0; i < userIds.length; i += batchSize) {
    for (const [id, uid] of await storedUids(db, userIds.slice(i, i + batchSize))) uids.set(id, uid)
  }
  return userIds.map((id) => uids.get(id))
}

const unknownUser = (r: Row) => ({ row: r.row, reason: `unknown user_id ${JSON.stringify(r.userId)}` })

/** Adds an error for each row whose user doesn't exist. */
async function reportUnknownUsers(
  db: SqlExecutor,
  rows: Row[],
  errors: Array<{ row: number; reason: string }>,
): Promise<void> {
  const uids = await lookupUids(
    db,
    rows.map((r) => r.userId),
  )
  for (const [k, r] of rows.entries()) if (uids[k] === undefined) errors.push(unknownUser(r))
}

/**
 * The import method (docs/semantics.md#import-values): values from a CSV `user_id,value` become the label's
 * results through a run with trigger 'import', with its history snapshot, like any run.
 * replace: the results are exactly the file; merge: the file's values override or add to
 * the current results (current results of another data type are not carried over).
 * All-or-nothing: any bad row (unknown user, bad value, duplicate user, wrong field count)
 * stores nothing, reports every row, and records the run as failed — unless skipInvalid.
 */
export async function importValues(
  db: SqlExecutor,
  input: ImportInput,
): Promise<ImportReport & { invalidRows: number }> {
  if (input.definition.rule.method !== 'import')
    throw new LabelsError('invalid', 'values can only be imported into a label of the import method', '/rule/method')
  if (input.definition.dataType !== input.dataType)
    throw new LabelsError('bad_request', 'dataType differs from the definition', '/dataType')
  const errors: Array<{ row: number; reason: string }> = []
  const parsed = readRows(input, errors)
  if (parsed.length === 0 && errors.length === 0) errors.push({ row: 0, reason: 'the file has no data rows' })
  const run = await insertRun(db, {
    labelId: input.labelId,
    trigger: 'import',
    asOf: new Date().toISOString(),
    definition: input.definition,
    ...(input.runId ? { id: input.runId } : {}),
  })
  await startRun(db, run.id)
  const rejected = async () => {
    errors.sort((a, b) => a.row - b.row)
    await failRun(
      db,
      run.id,
      `import rejected: ${errors.length} invalid row${errors.length === 1 ? '' : 's'}, first at row ${errors[0]?.row}: ${errors[0]?.reason}`,
    )
    return {
      runId: run.id,
      imported: 0,
      errors: errors.slice(0, input.maxErrors ?? 100),
      committed: false,
      invalidRows: errors.length,
    }
  }
  if (errors.length > 0 && (!input.skipInvalid || parsed.length === 0)) {
    await reportUnknownUsers(db, parsed, errors)
    return rejected()
  }
  // Users are looked up by the INSERT itself (a join, like hand-written SQL); only when it
  // stores fewer rows than the file has are the unknown ones looked for.
  let imported = 0
  try {
    await db.transaction(async (tx) => {
      const r = await writeImport(tx, input, run.id, run.asOf, parsed)
      if (r.unknown.length > 0 && (!input.skipInvalid || r.imported === 0)) throw new Rejected(r.unknown)
      imported = r.imported
      errors.push(...r.unknown)
    })
  } catch (e) {
    if (e instanceof Rejected) {
      errors.push(...e.unknown)
      return rejected()
    }
    await failRun(db, run.id, runErrorMessage(e))
    throw e
  }
  errors.sort((a, b) => a.row - b.row)
  return {
    runId: run.id,
    imported,
    errors: errors.slice(0, input.maxErrors ?? 100),
    committed: true,
    invalidRows: errors.length,
  }
}

/** Rolls the import's transaction back: the file names users that don't exist. */
class Rejected extends Error {
  constructor(readonly unknown: Array<{ row: number; reason: string }>) {
    super('unknown users')
  }
}

async function writeImport(
  tx: SqlExecutor,
  input: ImportInput,
  runId: string,
  asOf: string,
  rows: Row[],
): Promise<{ imported: number; unknown: Array<{ row: number; reason: string }> }> {
  // The file names each user once (readRows refuses repeats), so its rows go in as a plain bulk
  // load and the (uid) key is built once afterwards, as a calculation does (on Citus the label's
  // spare, emptied, when it has one: result-swap.ts releaseTable).
  const table = await resultTableFor(tx, input.labelId, input.dataType)
  const cast = castSql(input.dataType)
  const unknown: Array<{ row: number; reason: string }> = []
  let imported = 0
  const params = (a: unknown[], b: unknown[]) => (input.dataType === 'date' ? [a, b, input.tz] : [a, b])
  for (let i = 0; i < rows.length; i += batchSize) {
    const b = rows.slice(i, i + batchSize)
    const ids = b.map((r) => r.userId)
    if (tx.kind === 'pglite' || tx.citus) {
      // PGlite: uids first by one array lookup (1.0 µs per id), then a plain load. A join there
      // is planned as index probes per row (unnest is estimated at 100 rows): 4 µs per id. Citus:
      // users is distributed by uid, so the rows are routed to shards by uid, known first.
      const uids = await lookupUids(tx, ids)
      const known = b.flatMap((_r, k) => (uids[k] === undefined ? [] : [k]))
      for (const [k, r] of b.entries()) if (uids[k] === undefined) unknown.push(unknownUser(r))
      const ins = await tx.query(
        `INSERT INTO ${table} (uid, value) SELECT u, ${cast} FROM unnest($1::int[], $2::text[]) AS x(u, v)`,
        params(
          known.map((k) => uids[k]),
          known.map((k) => (b[k] as Row).value),
        ),
      )
      imported += ins.affectedRows ?? 0
      continue
    }
    // PostgreSQL: the join in the INSERT, as hand-written SQL would (a per-id index scan with
    // `= ANY` was 2.5 µs per id there); unknown users are looked for only when rows are missing.
    const ins = await tx.query(
      `INSERT INTO ${table} (uid, value) SELECT u.uid, ${cast} FROM unnest($1::text[], $2::text[]) AS x(id, v) JOIN users u ON u.user_id = x.id`,
      params(
        ids,
        b.map((r) => r.value),
      ),
    )
    const n = ins.affectedRows ?? 0
    imported += n
    if (n < b.length) {
      const r = await tx.query<{ i: number }>(
        `SELECT x.i::int AS i FROM unnest($1::text[]) WITH ORDINALITY AS x(id, i) WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = x.id)`,
        [ids],
      )
      for (const { i: k } of r.rows) unknown.push(unknownUser(b[k - 1] as Row))
    }
  }
  if (unknown.length > 0 && !input.skipInvalid) return { imported, unknown }
  let covered = imported
  if (input.mode === 'merge') {
    // Lock the pointer first so no run swaps the table we copy from before our own swap.
    await tx.query(`SELECT 1 FROM label_state WHERE label_id = $1 FOR UPDATE`, [input.labelId])
    const cur = await loadLabelState(tx, input.labelId)
    if (cur && cur.dataType === input.dataType) {
      // Current values of users the file doesn't name (the file's values win).
      const kept = await tx.query(
        `INSERT INTO ${table} (uid, value) SELECT c.uid, c.value FROM ${cur.table} c WHERE NOT EXISTS (SELECT 1 FROM ${table} f WHERE f.uid = c.uid)`,
      )
      covered += kept.affectedRows ?? 0
    }
  }
  if (imported === 0) return { imported, unknown }
  await keyResultTable(tx, table)
  await finishResults(tx, {
    labelId: input.labelId,
    runId,
    definition: input.definition,
    asOf,
    tz: input.tz,
    table,
    coveredUsers: covered,
  })
  return { imported, unknown }
}
