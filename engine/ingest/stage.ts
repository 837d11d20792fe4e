import type { SqlExecutor } from '../sql-executor.ts'
import { sqlType, type ValueType } from '../storage/catalogue.ts'
import { BinaryCopyWriter, type CopyType } from './copy-binary.ts'
import type { Stored } from './values.ts'

let counter = 0

/** A unique, digits-only staging table name (identifiers never come from input). */
function stageName(): string {
  counter = (counter + 1) % 1000
  const rand = Math.floor(Math.random() * 1e6).toString().padStart(6, '0')
  return `ingest_stage_${Date.now()}${counter.toString().padStart(3, '0')}${rand}`
}

/**
 * Rows of one target (users, or one event) waiting for the commit. Rows are buffered
 * column-wise and written in batches with one binary `COPY` where the executor offers it
 * (PGlite), else one `INSERT … SELECT FROM unnest($1::int[], …)`, each into an UNLOGGED
 * table (visible to every pooled connection, unlike TEMP), so a request of any size never sits in memory and the target tables stay untouched until
 * the single commit transaction copies the stage over with INSERT … SELECT.
 */
export class Stage {
  readonly table = stageName()
  readonly types: ValueType[] = []
  rows = 0
  /** Highest row number staged (rows arrive in order). */
  maxRow = 0
  private created = false
  private createdCols = 0
  private rowNo: number[] = []
  private userId: string[] = []
  private time: string[] = []
  private eventId: Array<string | null> = []
  private cols: Array<Array<Stored | null>> = []
  private writer: BinaryCopyWriter | null = null

  constructor(readonly withEventFields: boolean) {}

  /** Number of rows buffered in memory, not yet written. */
  get buffered(): number {
    return this.rowNo.length
  }

  /** Adds a staging column `p<index>`; earlier buffered rows get no value in it. */
  addColumn(type: ValueType): number {
    this.types.push(type)
    this.cols.push(new Array<Stored | null>(this.rowNo.length).fill(null))
    return this.types.length - 1
  }

  /** Buffers one valid row; `values[k]` (k < n) belongs to column p<cols[k]>, other columns get NULL. */
  push(row: number, userId: string, time: string | null, eventId: string | null, cols: readonly number[], values: readonly Stored[], n: number): void {
    this.rowNo.push(row)
    this.maxRow = row
    this.userId.push(userId)
    if (this.withEventFields) {
      this.time.push(time as string)
      this.eventId.push(eventId)
    }
    const at = this.rowNo.length - 1
    for (let i = 0; i < this.cols.length; i++) (this.cols[i] as Array<Stored | null>).push(null)
    for (let k = 0; k < n; k++) (this.cols[cols[k] as number] as Array<Stored | null>)[at] = values[k] as Stored
    this.rows++
  }

  /** Writes the buffered rows to the staging table (takes them out of the buffer first, so rows added meanwhile wait for the next flush). */
  async flush(db: SqlExecutor): Promise<void> {
    const n = this.rowNo.length
    if (n === 0) return
    const nTypes = this.types.length
    const cols: Array<ReadonlyArray<Stored | null>> = [this.rowNo, this.userId, ...(this.withEventFields ? [this.time, this.eventId] : []), ...this.cols]
    this.rowNo = []
    this.userId = []
    this.time = []
    this.eventId = []
    this.cols = this.cols.map(() => [])
    await this.ensureTable(db, nTypes)
    const types = this.types.slice(0, nTypes)
    const names = ['row', 'user_id', ...(this.withEventFields ? ['time', 'event_id'] : []), ...types.map((_, i) => `p${i}`)]
    if (db.copyFrom) {
      const copyTypes: CopyType[] = ['int4', 'text', ...(this.withEventFields ? ['timestamptz', 'text'] as const : []), ...types]
      const data = (this.writer ??= new BinaryCopyWriter()).encode(copyTypes, cols, n)
      if (data) {
        await db.copyFrom(`COPY ${this.table} (${names.join(', ')}) FROM '/dev/blob' WITH (FORMAT binary)`, data)
        return
      }
    }
    const casts = ['int[]', 'text[]', ...(this.withEventFields ? ['timestamptz[]', 'text[]'] : []), ...types.map((t) => `${sqlType[t]}[]`)]
    const args = casts.map((c, i) => `$${i + 1}::${c}`).join(', ')
    await db.query(`INSERT INTO ${this.table} (${names.join(', ')}) SELECT * FROM unnest(${args})`, cols)
  }

  private async ensureTable(db: SqlExecutor, nTypes: number): Promise<void> {
    if (!this.created) {
      const fixed = this.withEventFields ? 'row int NOT NULL, user_id text NOT NULL, time timestamptz NOT NULL, event_id text' : 'row int NOT NULL, user_id text NOT NULL'
      await db.exec(`CREATE UNLOGGED TABLE ${this.table} (${fixed})`)
      this.created = true
    }
    for (; this.createdCols < nTypes; this.createdCols++) {
      await db.exec(`ALTER TABLE ${this.table} ADD COLUMN p${this.createdCols} ${sqlType[this.types[this.createdCols] as ValueType]}`)
    }
  }

  /** Drops the staging table; safe to call twice. */
  async drop(db: SqlExecutor): Promise<void> {
    this.rowNo = []
    this.cols = this.cols.map(() => [])
    if (this.created) {
      this.created = false
      await db.exec(`DROP TABLE IF EXISTS ${this.table}`)
    }
  }
}
