import type { SqlExecutor } from '../sql-executor.ts'
import { sqlType, type ValueType } from '../storage/catalogue.ts'
import { eventTableDdl } from '../storage/extend.ts'
import { distributeByUid } from '../storage/citus.ts'
import { dropStaleScratch, scratchCreatedAt, scratchTableName } from '../storage/scratch-tables.ts'
import type { BinaryCopyWriter, CopyType } from './copy-binary.ts'
import type { Batch } from './link.ts'
import type { Stored } from './values.ts'

/** A unique staging table name: `ingest_stage_<ms since epoch><6 digits>` (engine/storage/scratch-tables.ts). */
const stageName = () => scratchTableName('ingest_stage_')

/** When a stage table name says it was created (ms since epoch), or null for another name. */
export function stageCreatedAt(table: string): number | null {
  return scratchCreatedAt('ingest_stage_', table, 3) // (older names had 3 more digits)
}

/** Rows taken out of a buffer, waiting for their uids (events) and encoding. */
export interface PendingBatch {
  target: string
  types: ValueType[]
  rows: number
  rowNo: number[]
  userId: string[]
  time: string[]
  eventId: Array<string | null>
  cols: Array<Array<Stored | null>>
}

/**
 * Parsing side: the valid rows of one target (users, or one event name), buffered column-wise
 * until a batch is full. Events are staged in their final layout (seq, uid, time, event_id,
 * p0…) so a table the request creates becomes the event table by a rename; users keep
 * (row, user_id, p0…) because their commit is an upsert keyed by user_id.
 */
export class StageBuffer {
  readonly types: ValueType[] = []
  rows = 0
  private rowNo: number[] = []
  private userId: string[] = []
  private time: string[] = []
  private eventId: Array<string | null> = []
  private cols: Array<Array<Stored | null>> = []

  constructor(
    readonly target: string,
    readonly withEventFields: boolean,
  ) {}

  /** Number of rows buffered, not yet taken. */
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
  push(
    row: number,
    userId: string,
    time: string | null,
    eventId: string | null,
    cols: readonly number[],
    values: readonly Stored[],
    n: number,
  ): void {
    this.rowNo.push(row)
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

  /** Takes the buffered rows out (rows pushed afterwards go to the next batch). */
  take(): PendingBatch | null {
    const rows = this.rowNo.length
    if (rows === 0) return null
    const b: PendingBatch = {
      target: this.target,
      types: this.types.slice(),
      rows,
      rowNo: this.rowNo,
      userId: this.userId,
      time: this.time,
      eventId: this.eventId,
      cols: this.cols,
    }
    this.rowNo = []
    this.userId = []
    this.time = []
    this.eventId = []
    this.cols = this.cols.map(() => [])
    return b
  }
}

/**
 * Encodes a pending batch for the staging table: binary COPY data when `binary` (and every value
 * fits PostgreSQL's text input, see BinaryCopyWriter), else column arrays. Events need `uids`
 * (one per row) and the request's ticket for seq.
 */
export function encodeBatch(
  writer: BinaryCopyWriter,
  b: PendingBatch,
  binary: boolean,
  uids: Int32Array | null,
  ticket: number,
): Batch {
  const events = uids !== null
  const head: Array<ArrayLike<unknown>> = events ? [b.rowNo, uids, b.time, b.eventId] : [b.rowNo, b.userId]
  const cols = [...head, ...b.cols]
  if (binary) {
    const copyTypes: CopyType[] = [
      ...(events ? (['seq', 'int4', 'timestamptz', 'text'] as const) : (['int4', 'text'] as const)),
      ...b.types,
    ]
    writer.seqHigh = ticket
    const data = writer.encode(copyTypes, cols as unknown as Array<ReadonlyArray<Stored | null>>, b.rows)
    if (data) return { target: b.target, types: b.types, rows: b.rows, data: data.slice(), cols: null }
  }
  return {
    target: b.target,
    types: b.types,
    rows: b.rows,
    data: null,
    cols: cols.map((c) => (c instanceof Int32Array ? Array.from(c) : (c as unknown[]))),
  }
}

/**
 * Storing side: the staging table of one target. Event stages are ordinary tables shaped like
 * an event table (a new event's stage is renamed into place at commit); the users stage is
 * UNLOGGED. Both are visible to every pooled connection, unlike TEMP tables.
 */
export class StageTable {
  readonly table = stageName()
  readonly types: ValueType[] = []
  private created = false

  constructor(
    readonly events: boolean,
    private readonly ticket: number,
  ) {}

  /** Writes one batch (adding the staging columns it brings). */
  async write(db: SqlExecutor, batch: Batch): Promise<void> {
    await this.ensure(db, batch.types)
    const fixed = this.events ? ['seq', 'uid', 'time', 'event_id'] : ['row', 'user_id']
    const names = [...fixed, ...batch.types.map((_, i) => `p${i}`)]
    if (batch.data) {
      if (!db.copyFrom) throw new Error('binary batch for an executor without COPY')
      await db.copyFrom(`COPY ${this.table} (${names.join(', ')}) FROM '/dev/blob' WITH (FORMAT binary)`, batch.data)
      return
    }
    const casts = [
      ...(this.events ? ['int[]', 'int[]', 'timestamptz[]', 'text[]'] : ['int[]', 'text[]']),
      ...batch.types.map((t) => `${sqlType[t]}[]`),
    ]
    const args = casts.map((c, i) => `$${i + 1}::${c}`)
    const select = this.events
      ? [`(${Number(this.ticket)}::bigint << 32) + x.a0`, ...args.slice(1).map((_, i) => `x.a${i + 1}`)]
      : ['*']
    await db.query(
      `INSERT INTO ${this.table} (${names.join(', ')}) SELECT ${select.join(', ')} FROM unnest(${args.join(', ')}) AS x(${casts.map((_, i) => `a${i}`).join(', ')})`,
      batch.cols as unknown[][],
    )
  }

  private async ensure(db: SqlExecutor, types: readonly ValueType[]): Promise<void> {
    if (!this.created) {
      await db.exec(
        this.events
          ? eventTableDdl(this.table)
          : `CREATE UNLOGGED TABLE ${this.table} (row int NOT NULL, user_id text NOT NULL)`,
      )
      this.created = true
      if (this.events) await distributeByUid(db, this.table) // Citus: batches go straight to the workers
    }
    for (let i = this.types.length; i < types.length; i++) {
      const type = types[i] as ValueType
      await db.exec(`ALTER TABLE ${this.table} ADD COLUMN p${i} ${sqlType[type]}`)
      this.types.push(type)
    }
  }

  /** Forgets the table without dropping it (it became an event table). */
  adopted(): void {
    this.created = false
  }

  /** Drops the staging table; safe to call twice. */
  async drop(db: SqlExecutor): Promise<void> {
    if (this.created) {
      this.created = false
      await db.exec(`DROP TABLE IF EXISTS ${this.table}`)
    }
  }
}

/**
 * Drops staging tables left behind by a process that died mid-request (a live request's
 * stages are younger than `olderThanMs`; several servers may share one PostgreSQL). Returns
 * how many were dropped.
 */
export function dropStaleStages(db: SqlExecutor, olderThanMs = 24 * 3_600_000, now = Date.now()): Promise<number> {
  return dropStaleScratch(db, stageCreatedAt, 'ingest_stage_', olderThanMs, now)
}
