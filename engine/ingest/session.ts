import { LabelsError } from '../../shared/errors.ts'
import type { SqlExecutor } from '../sql-executor.ts'
import { loadCatalogue, type Catalogue, type ColumnRef, type ValueType } from '../storage/catalogue.ts'
import { commitEvents, commitUsers, type StagedTarget } from './commit.ts'
import { badName, reservedNames } from './names.ts'
import { Stage } from './stage.ts'
import type { IngestKind, IngestOptions, IngestResult, RawRecord } from './types.ts'
import { convert, inferType, isEmpty, parseEventTime, type RawValue, type Stored } from './values.ts'

interface Target extends StagedTarget {
  known: ReadonlyMap<string, ColumnRef>
}

const maxIdLength = 512

/**
 * One all-or-nothing ingestion request: validates and types each record, stages the
 * valid ones, and at `finish` extends the catalogue and stores everything in one
 * transaction — or, when a row was bad and skipInvalid is off, nothing at all.
 */
export class IngestSession {
  private catalogue: Catalogue | null = null
  private readonly targets = new Map<string, Target>()
  private readonly errors: Array<{ row: number; reason: string }> = []
  private invalidRows = 0
  private rows = 0
  private state: 'open' | 'finished' | 'aborted' = 'open'
  private readonly batchSize: number
  private readonly maxErrors: number
  private pendingFlush: Promise<void> = Promise.resolve()
  private flushQueued = false
  private readonly nameChecks = new Map<string, string | null>()
  private readonly scratchNames: string[] = []
  private readonly scratchTypes: ValueType[] = []
  private readonly scratchValues: Stored[] = []
  private readonly scratchIdx: number[] = []
  private readonly scratchRaw: { kind: 'json'; value: unknown } = { kind: 'json', value: null }
  private readonly eventNameChecks = new Map<string, string | null>()
  private previousFlush: Promise<void> = Promise.resolve()

  constructor(private readonly db: SqlExecutor, readonly kind: IngestKind, private readonly opts: IngestOptions = {}) {
    this.batchSize = opts.batchSize ?? 50_000 // per-COPY overhead shows below ~50k rows; 100k measured no faster
    this.maxErrors = opts.maxErrors ?? 100
  }

  /** Records a bad row; the request stores nothing unless skipInvalid is on. */
  reject(row: number, reason: string): void {
    this.invalidRows++
    if (this.errors.length < this.maxErrors) this.errors.push({ row, reason })
  }

  /** Whether the request can still store anything. */
  private get doomed(): boolean {
    return this.invalidRows > 0 && !this.opts.skipInvalid
  }

  /** Validates one record and stages it; returns a promise only when a batch is written. */
  add(rec: RawRecord): Promise<void> | void {
    if (this.state !== 'open') throw new LabelsError('conflict', `ingestion is already ${this.state}`)
    this.rows++
    if (this.opts.maxRows !== undefined && this.rows > this.opts.maxRows) {
      throw new LabelsError('too_large', `more than ${this.opts.maxRows} rows`, `/${rec.row}`)
    }
    if (!this.catalogue) return this.loadThenAdd(rec)
    const reason = this.stageRecord(rec)
    if (reason !== null) {
      this.reject(rec.row, reason)
      if (this.doomed && this.invalidRows === 1) return this.dropAll()
    }
    if (this.flushQueued) {
      this.flushQueued = false
      return this.previousFlush
    }
    return undefined
  }

  private async loadThenAdd(rec: RawRecord): Promise<void> {
    this.catalogue = await loadCatalogue(this.db)
    this.rows--
    await this.add(rec)
  }

  /** Returns why the record is invalid, or stages it and returns null. */
  private stageRecord(rec: RawRecord): string | null {
    const userId = typeof rec.userId === 'number' && Number.isFinite(rec.userId) ? String(rec.userId) : rec.userId
    if (typeof userId !== 'string' || userId.trim() === '') return 'missing user_id'
    if (userId.length > maxIdLength) return `user_id is longer than ${maxIdLength} characters`
    let time: string | null = null
    let eventId: string | null = null
    let eventName = ''
    if (this.kind === 'events') {
      if (typeof rec.event !== 'string' || rec.event.trim() === '') return 'missing event name'
      eventName = rec.event
      const bad = this.checkEventName(eventName)
      if (bad) return bad
      if (rec.time === undefined || rec.time === null || rec.time === '') return 'missing time'
      time = parseEventTime(rec.time)
      if (time === null) return `time ${JSON.stringify(rec.time)} is not an ISO 8601 date-time or epoch number`
      const id = typeof rec.eventId === 'number' && Number.isFinite(rec.eventId) ? String(rec.eventId) : rec.eventId
      if (id !== undefined && id !== null && id !== '') {
        if (typeof id !== 'string') return 'event_id must be a string'
        if (id.length > maxIdLength) return `event_id is longer than ${maxIdLength} characters`
        eventId = id
      }
    }
    const target = this.target(eventName)
    const what = this.kind === 'users' ? 'attribute' : 'property'
    let n = 0 // entries used in the scratch arrays (cheaper than resetting their length per row)
    const json = rec.json
    if (json) {
      // Read in place through one reused RawValue: no tuple and wrapper objects per property.
      const raw = this.scratchRaw
      for (const name in json) {
        if (!Object.hasOwn(json, name)) continue
        raw.value = json[name]
        const r = this.typeProperty(target, what, name, raw, n)
        if (typeof r === 'string') return r
        n = r
      }
    }
    for (const [name, raw] of rec.properties) {
      const r = this.typeProperty(target, what, name, raw, n)
      if (typeof r === 'string') return r
      n = r
    }
    // Only a valid row may extend the schema: a bad row's new names and types are forgotten.
    const names = this.scratchNames, types = this.scratchTypes
    const idx = this.scratchIdx
    for (let i = 0; i < n; i++) {
      const name = names[i] as string, type = types[i] as ValueType
      if (!target.known.has(name) && !target.fresh.has(name)) target.fresh.set(name, type)
      idx[i] = this.stageIndex(target, name, type)
    }
    if (this.doomed) return null // keep validating to report every bad row, store nothing
    target.stage.push(rec.row, userId, time, eventId, idx, this.scratchValues, n)
    if (target.stage.buffered >= this.batchSize) this.queueFlush(target.stage)
    return null
  }

  /** Types one property into the scratch arrays at index n: the next n (unchanged for an empty value), or why it is invalid. */
  private typeProperty(target: Target, what: string, name: string, raw: RawValue, n: number): number | string {
    const bad = this.checkName(name, what)
    if (bad) return bad
    if (isEmpty(raw)) return n
    let type = target.known.get(name)?.type ?? target.fresh.get(name)
    if (!type) {
      const inferred = inferType(raw)
      if (!inferred) return `${what} "${name}": unsupported value ${JSON.stringify(raw.value)}`
      type = inferred
    }
    let value: Stored
    const x = raw.value
    // A JSON value already of its column's type is stored as is (what convert would return).
    if (raw.kind === 'json' && (typeof x === 'string' ? type === 'string' : typeof x === 'boolean' ? type === 'boolean' : typeof x === 'number' && type === 'number' && Number.isFinite(x))) {
      value = x as Stored
    } else {
      const c = convert(raw, type)
      if (!c.ok) return `${what} "${name}" (${type}): ${c.reason}`
      value = c.value
    }
    this.scratchNames[n] = name
    this.scratchTypes[n] = type
    this.scratchValues[n] = value
    return n + 1
  }

  /** Name checks, memoised: the same few names repeat on every row. */
  private checkName(name: string, what: string): string | null {
    let bad = this.nameChecks.get(name)
    if (bad === undefined) {
      bad = badName(name, what) ?? (reservedNames[this.kind].has(name) ? `${what} name "${name}" is reserved` : null)
      if (this.nameChecks.size < 10_000) this.nameChecks.set(name, bad)
    }
    return bad
  }

  /** Event name checks, memoised like `checkName` (a separate map: the message names an event). */
  private checkEventName(name: string): string | null {
    let bad = this.eventNameChecks.get(name)
    if (bad === undefined) {
      bad = badName(name, 'event')
      if (this.eventNameChecks.size < 10_000) this.eventNameChecks.set(name, bad)
    }
    return bad
  }

  private target(event: string): Target {
    let t = this.targets.get(event)
    if (!t) {
      const cat = this.catalogue as Catalogue
      const known = this.kind === 'users' ? cat.users : (cat.events.get(event)?.properties ?? new Map<string, ColumnRef>())
      t = { event, known, fresh: new Map(), stageIdx: new Map(), stage: new Stage(this.kind === 'events') }
      this.targets.set(event, t)
    }
    return t
  }

  private stageIndex(t: Target, name: string, type: ValueType): number {
    let i = t.stageIdx.get(name)
    if (i === undefined) t.stageIdx.set(name, (i = t.stage.addColumn(type)))
    return i
  }

  /** Chains a batch write; `add` then waits only for the previous one, so parsing overlaps one write. */
  private queueFlush(stage: Stage): void {
    this.previousFlush = this.pendingFlush
    this.pendingFlush = this.pendingFlush.then(() => stage.flush(this.db))
    this.pendingFlush.catch(() => {}) // surfaced when awaited by add/finish, not as an unhandled rejection
    this.flushQueued = true
  }

  /** Waits for staged batches; callers await this for backpressure. */
  drain(): Promise<void> {
    return this.pendingFlush
  }

  private async dropAll(): Promise<void> {
    await this.pendingFlush.catch(() => {})
    for (const t of this.targets.values()) await t.stage.drop(this.db)
  }

  /** Stores the staged rows in one transaction (or nothing) and reports. */
  async finish(): Promise<IngestResult> {
    if (this.state !== 'open') throw new LabelsError('conflict', `ingestion is already ${this.state}`)
    this.state = 'finished'
    const report: IngestResult = { stored: 0, inserted: 0, updated: 0, duplicates: 0, errors: this.errors, committed: false, invalidRows: this.invalidRows }
    try {
      await this.pendingFlush
      if (this.doomed) return report
      for (const t of this.targets.values()) await t.stage.flush(this.db)
      const targets = [...this.targets.values()].filter((t) => t.stage.rows > 0)
      const counts = targets.length === 0 ? { inserted: 0, updated: 0, duplicates: 0 }
        : this.kind === 'users' ? await commitUsers(this.db, targets) : await commitEvents(this.db, targets)
      return { ...report, ...counts, stored: counts.inserted + counts.updated, committed: true }
    } finally {
      await this.dropAll()
    }
  }

  /** Discards everything staged; nothing is stored. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return
    this.state = 'aborted'
    await this.dropAll()
  }
}
