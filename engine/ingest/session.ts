import { LabelsError } from '../../shared/errors.ts'
import type { ValueType } from '../storage/catalogue.ts'
import { BinaryCopyWriter } from './copy-binary.ts'
import type { OpenInfo, ParseSummary, StoreLink } from './link.ts'
import { badName, reservedNames } from './names.ts'
import { columnLimitProblem } from '../storage/column-limits.ts'
import { encodeBatch, StageBuffer, type PendingBatch } from './stage.ts'
import type { IngestKind, IngestOptions, RawRecord } from './types.ts'
import { idMaxLength } from '../../shared/limits.ts'
import {
  convert,
  inferType,
  inSupportedYears,
  isEmpty,
  parseEventTime,
  textProblem,
  type RawValue,
  type Stored,
} from './values.ts'

interface Target {
  event: string
  known: ReadonlyMap<string, ValueType>
  fresh: Map<string, ValueType>
  stageIdx: Map<string, number>
  stage: StageBuffer
}

const maxIdLength = idMaxLength
/** Batches that may be on their way to the store at once (each ~50k rows). */
const maxInflight = 6
const noKnown: ReadonlyMap<string, ValueType> = new Map()

/**
 * The parsing half of one all-or-nothing ingestion request: validates and types each record
 * and stages the valid ones through a `StoreLink` (the storing half, see store.ts), in batches;
 * `finish` says what was staged, and whether anything may be stored. No SQL here: this half
 * can run in a worker thread (parse-worker.ts) while the database works on earlier batches.
 */
export class IngestSession {
  private info: OpenInfo | null = null
  private known = new Map<string, ReadonlyMap<string, ValueType>>()
  private readonly targets = new Map<string, Target>()
  private readonly errors: Array<{ row: number; reason: string }> = []
  private invalidRows = 0
  private rows = 0
  private state: 'open' | 'finished' | 'aborted' = 'open'
  private readonly batchSize: number
  private readonly maxErrors: number
  private pendingFlush: Promise<void> = Promise.resolve()
  /** Batches taken but not yet written, oldest first. */
  private readonly inflight: Array<Promise<void>> = []
  /** Set when too many batches are in flight: the next `add` returns it (backpressure). */
  private waitFor: Promise<void> | null = null
  private readonly nameChecks = new Map<string, string | null>()
  private readonly scratchNames: string[] = []
  private readonly scratchTypes: ValueType[] = []
  private readonly scratchValues: Stored[] = []
  private readonly scratchIdx: number[] = []
  private readonly scratchRaw: { kind: 'json'; value: unknown } = { kind: 'json', value: null }
  private readonly eventNameChecks = new Map<string, string | null>()
  private readonly uids = new Map<string, number>()
  /** New attribute/property names met so far in the current row (they count toward the column limit). */
  private rowFresh = 0
  private readonly writer = new BinaryCopyWriter()

  constructor(
    private readonly link: StoreLink,
    readonly kind: IngestKind,
    private readonly opts: IngestOptions = {},
  ) {
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
    if (!this.info) return this.openThenAdd(rec)
    const reason = this.stageRecord(rec)
    if (reason !== null) this.reject(rec.row, reason)
    if (this.waitFor) {
      const w = this.waitFor
      this.waitFor = null
      return w
    }
    return undefined
  }

  private async openThenAdd(rec: RawRecord): Promise<void> {
    this.info ??= await this.link.open()
    this.known = new Map(this.info.known.map(([k, cols]) => [k, new Map(cols)]))
    this.rows--
    await this.add(rec)
  }

  /** Returns why the record is invalid, or stages it and returns null. */
  private stageRecord(rec: RawRecord): string | null {
    const userId = typeof rec.userId === 'number' && Number.isFinite(rec.userId) ? String(rec.userId) : rec.userId
    if (typeof userId !== 'string' || userId.trim() === '') return 'missing user_id'
    if (userId.length > maxIdLength) return `user_id is longer than ${maxIdLength} characters`
    if (textProblem(userId)) return `user_id: ${textProblem(userId)}`
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
      if (!inSupportedYears(time)) return `time ${JSON.stringify(rec.time)} is outside the supported years 0001–9999`
      const id = typeof rec.eventId === 'number' && Number.isFinite(rec.eventId) ? String(rec.eventId) : rec.eventId
      if (id !== undefined && id !== null && id !== '') {
        if (typeof id !== 'string') return 'event_id must be a string'
        if (id.length > maxIdLength) return `event_id is longer than ${maxIdLength} characters`
        if (textProblem(id)) return `event_id: ${textProblem(id)}`
        eventId = id
      }
    }
    const target = this.target(eventName)
    const what = this.kind === 'users' ? 'attribute' : 'property'
    this.rowFresh = 0
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
    const names = this.scratchNames,
      types = this.scratchTypes
    const idx = this.scratchIdx
    for (let i = 0; i < n; i++) {
      const name = names[i] as string,
        type = types[i] as ValueType
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
    let type = target.known.get(name) ?? target.fresh.get(name)
    if (!type) {
      const full = columnLimitProblem(
        this.kind === 'users' ? null : target.event,
        name,
        target.known.size + target.fresh.size + this.rowFresh++,
      )
      if (full) return full
      const inferred = inferType(raw)
      if (!inferred) return `${what} "${name}": unsupported value ${JSON.stringify(raw.value)}`
      type = inferred
    }
    let value: Stored
    const x = raw.value
    // A JSON value already of its column's type is stored as is (what convert would return).
    if (
      raw.kind === 'json' &&
      (typeof x === 'string'
        ? type === 'string'
        : typeof x === 'boolean'
          ? type === 'boolean'
          : typeof x === 'number' && type === 'number' && Number.isFinite(x))
    ) {
      value = x as Stored
    } else {
      const c = convert(raw, type)
      if (!c.ok) return `${what} "${name}" (${type}): ${c.reason}`
      value = c.value
    }
    if (typeof value === 'string') {
      if (type === 'string' && value.indexOf('\u0000') >= 0) return `${what} "${name}": ${textProblem(value)}`
      if (type === 'date' && !inSupportedYears(value))
        return `${what} "${name}" (date): ${JSON.stringify(raw.value)} is outside the supported years 0001–9999`
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
      t = {
        event,
        known: this.known.get(event) ?? noKnown,
        fresh: new Map(),
        stageIdx: new Map(),
        stage: new StageBuffer(event, this.kind === 'events'),
      }
      this.targets.set(event, t)
    }
    return t
  }

  private stageIndex(t: Target, name: string, type: ValueType): number {
    let i = t.stageIdx.get(name)
    if (i === undefined) t.stageIdx.set(name, (i = t.stage.addColumn(type)))
    return i
  }

  /**
   * Takes a full buffer out and chains its write (writes stay in order). Up to `maxInflight`
   * batches may wait for their uids and write while parsing goes on; beyond that `add` waits
   * for the oldest. An event batch's missing uids are asked for right away, not after the
   * previous write, so the store answers them as soon as it is free.
   */
  private queueFlush(stage: StageBuffer): void {
    const b = stage.take()
    if (!b) return
    const uids = this.kind === 'events' ? this.uidsOf(b) : Promise.resolve(null)
    uids.catch(() => {}) // surfaced through the chain below
    const done = this.pendingFlush.then(async () => {
      const info = this.info as OpenInfo
      await this.link.write(encodeBatch(this.writer, b, info.binary, await uids, info.ticket))
    })
    done.catch(() => {}) // surfaced when awaited by add/finish, not as an unhandled rejection
    this.pendingFlush = done
    this.inflight.push(done)
    void done.finally(() => this.inflight.splice(this.inflight.indexOf(done), 1)).catch(() => {})
    if (this.inflight.length > maxInflight) this.waitFor = this.inflight[0] as Promise<void>
  }

  /** The uid of each row's user: cached ones directly, the others asked of the store in one call. */
  private async uidsOf(b: PendingBatch): Promise<Int32Array> {
    const cache = this.uids
    const out = new Int32Array(b.rows)
    const miss: number[] = []
    for (let i = 0; i < b.rows; i++) {
      const uid = cache.get(b.userId[i] as string)
      if (uid === undefined) miss.push(i)
      else out[i] = uid
    }
    if (miss.length === 0) return out
    const ids = [...new Set(miss.map((i) => b.userId[i] as string))]
    const got = await this.link.resolveUids(ids)
    const found = new Map(ids.map((id, k) => [id, got[k] as number]))
    for (const i of miss) out[i] = found.get(b.userId[i] as string) as number
    if (cache.size + ids.length > 2_000_000) cache.clear() // bounded memory: the store remembers uids it reserved
    for (const [id, uid] of found) cache.set(id, uid)
    return out
  }

  /** Ends the request: writes the last batches and says what was staged (the store commits or drops it). */
  async finish(): Promise<ParseSummary> {
    if (this.state !== 'open') throw new LabelsError('conflict', `ingestion is already ${this.state}`)
    this.state = 'finished'
    if (!this.doomed) for (const t of this.targets.values()) this.queueFlush(t.stage)
    await this.pendingFlush
    const targets = this.doomed
      ? []
      : [...this.targets.values()]
          .filter((t) => t.stage.rows > 0)
          .map((t) => ({
            event: t.event,
            fresh: [...t.fresh],
            stageIdx: [...t.stageIdx],
            types: t.stage.types.slice(),
            rows: t.stage.rows,
          }))
    return { kind: this.kind, targets, errors: this.errors, invalidRows: this.invalidRows, doomed: this.doomed }
  }

  /** Discards the request (the store drops what was staged). */
  async abort(): Promise<void> {
    if (this.state !== 'open') return
    this.state = 'aborted'
    await this.pendingFlush.catch(() => {})
  }
}
