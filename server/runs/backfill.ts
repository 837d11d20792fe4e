import type { Backfill, EngineApi, HistoryDay } from '../../engine/api.ts'
import { checkBackfillable, maxBackfillDays } from '../../engine/calc/backfill-rules.ts'
import { badRequest, LabelsError, notFound } from '../../shared/errors.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import type { RunQueue } from './run-queue.ts'

export interface BackfillOptions {
  engine: Pick<
    EngineApi,
    'backfillDay' | 'createBackfill' | 'getBackfill' | 'listBackfills' | 'updateBackfill' | 'cancelBackfill'
  >
  queue: Pick<RunQueue, 'exclusive'>
  /** This process, recorded as the job's executor (the cluster node id on a cluster). */
  nodeId: string
  tz: string
  timeoutMs?: number
  now: () => Date
  /** The label as it is now (null: deleted): each day uses its current definition. */
  findLabel(labelId: string): WorkspaceLabel | null
  /** A backfill changed: pushed on the live channel (and to the other processes). */
  onChange(b: Backfill): void
  /** A day was written (the read model takes it). */
  onDay(labelId: string, day: HistoryDay): void
  /** The backfill ended having written days: the history is pushed once. */
  onEnd(labelId: string): Promise<void>
}

/** Backfills a label's list answers (the newest). */
const listed = 20
/** Backfill states kept in memory (the latest this process made or heard of), for GET without the engine. */
const keptStates = 500

const dayMs = 86_400_000

/** The calendar date of `at` in the time zone, YYYY-MM-DD. */
export function dateIn(at: Date, tz: string): string {
  const p = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(at)
    .reduce<Record<string, string>>((o, x) => ((o[x.type] = x.value), o), {})
  return `${p.year}-${p.month}-${p.day}`
}

/** The `days` calendar days before today (in tz), newest first. */
export function backfillDates(today: string, days: number): string[] {
  const t = Date.parse(`${today}T00:00:00Z`)
  return Array.from({ length: days }, (_, k) => new Date(t - (k + 1) * dayMs).toISOString().slice(0, 10))
}

/** The day after a YYYY-MM-DD date. */
const nextDate = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + dayMs).toISOString().slice(0, 10)

const open = (b: Backfill) => b.status === 'queued' || b.status === 'running'

/** This process stopped executing the job, leaving it as stored (cancelled, taken over, or for the next start). */
class Left extends Error {}

let seq = 0
const newId = () => `bf_${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 10)}`

/**
 * Backfills (docs/semantics.md#backfill): a label's history calculated for each of the last N
 * days as of the end of that day, writing only history. Each day runs as exclusive work on the
 * label's run queue (server/runs/run-queue.ts) holding one of its executors: it waits for the
 * label's queued and running runs, runs triggered meanwhile go before the next day, and it never
 * runs beside `concurrency` runs. One backfill per label at a time (across processes).
 *
 * Jobs are stored (engine/calc/backfill-jobs.ts): any process answers for any job, and a job a
 * stop, crash or kill interrupted is resumed from its next undone day by the next start
 * (`resume`), or on a cluster by the process that takes it over (server/cluster/run-claims.ts).
 * A day counts as done in its own transaction, so none is written twice or skipped. Cancel
 * (any process) stops the job: the day being written is rolled back, no other day starts.
 */
export class Backfills {
  /** Latest known state of recent jobs (changed here or heard from another process). */
  private readonly known = new Map<string, Backfill>()
  /** Jobs this process executes. */
  private readonly executing = new Map<string, Promise<void>>()
  private closed = false

  constructor(private readonly opts: BackfillOptions) {}

  /** The process recorded as the executor of the jobs it starts or resumes. */
  get nodeId(): string {
    return this.opts.nodeId
  }

  /** Checks and starts a backfill of the label; resolves with it (queued) once stored. */
  async start(label: WorkspaceLabel, days: unknown): Promise<Backfill> {
    if (this.closed) throw new LabelsError('unavailable', 'the server is shutting down; no new backfills')
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > maxBackfillDays)
      throw badRequest(
        `days must be a whole number from 1 to ${maxBackfillDays}, got ${JSON.stringify(days) ?? 'nothing'}`,
        '/body/days',
      )
    checkBackfillable({ dataType: label.dataType, rule: label.rule }, label.name)
    const dates = backfillDates(dateIn(this.opts.now(), this.opts.tz), days)
    const b = await this.opts.engine.createBackfill({
      id: newId(),
      labelId: label.id,
      labelName: label.name,
      days,
      from: dates[dates.length - 1] as string,
      to: dates[0] as string,
      nodeId: this.opts.nodeId,
    })
    this.changed(b)
    this.resume([b])
    return b
  }

  async get(id: string): Promise<Backfill | null> {
    const b = this.known.get(id)
    return b ? { ...b } : this.opts.engine.getBackfill(id)
  }

  /** The label's backfills, newest first. */
  async list(labelId: string): Promise<Backfill[]> {
    return (await this.opts.engine.listBackfills(labelId, listed)).map((b) => ({ ...(this.known.get(b.id) ?? b) }))
  }

  /** Cancels a queued or running backfill (404 unknown, 409 ended); the process executing it stops. */
  async cancel(id: string): Promise<Backfill> {
    const b = await this.opts.engine.cancelBackfill(id)
    this.changed(b)
    return b
  }

  /** Executes stored jobs this process claimed (start-up, take-over), each from its next undone day. */
  resume(jobs: Backfill[]): void {
    for (const b of jobs) {
      if (this.closed || this.executing.has(b.id)) continue
      this.known.set(b.id, { ...b })
      const job = this.execute(b).finally(() => this.executing.delete(b.id))
      this.executing.set(b.id, job)
    }
  }

  /** A change another process made (the cluster bus): answered by GET here too. False: older than what is known. */
  note(b: Backfill): boolean {
    return this.remember(b)
  }

  /** Forgets the states kept in memory (messages from other processes may have been missed). */
  forgetKnown(): void {
    for (const id of [...this.known.keys()]) if (!this.executing.has(id)) this.known.delete(id)
  }

  /** Starts no more days; jobs stay stored as they are, for the next start or another process. */
  close(): void {
    this.closed = true
  }

  /**
   * Keeps the latest state; false for an older one (an ended job never goes back to running:
   * a day's report can arrive after a cancel made elsewhere meanwhile).
   */
  private remember(b: Backfill): boolean {
    const had = this.known.get(b.id)
    if (had && !open(had) && (open(b) || had.done > b.done)) return false
    this.known.delete(b.id)
    this.known.set(b.id, { ...b })
    for (const old of this.known.keys()) {
      if (this.known.size <= keptStates) break
      if (!this.executing.has(old)) this.known.delete(old)
    }
    return true
  }

  private changed(b: Backfill): void {
    if (this.remember(b)) this.opts.onChange({ ...b })
  }

  private async execute(job: Backfill): Promise<void> {
    const dates = backfillDates(nextDate(job.to), job.days)
    let b = job
    let wrote = false
    let announced = false
    try {
      for (let step = job.done; step < dates.length; step++) {
        const date = dates[step] as string
        const day = await this.opts.queue.exclusive(
          b.labelId,
          async () => {
            if (this.closed) throw new Left()
            const label = this.opts.findLabel(b.labelId)
            if (!label) throw notFound('the label was deleted during the backfill')
            const cur = await this.opts.engine.updateBackfill(b.id, { status: 'running' })
            // Cancelled, or another process took it over and went on.
            if (!cur || cur.done !== step) throw new Left()
            b = cur
            if (!announced) (announced = true), this.changed(b)
            return this.opts.engine.backfillDay({
              labelId: b.labelId,
              definition: { dataType: label.dataType, rule: label.rule },
              date,
              tz: this.opts.tz,
              jobId: b.id,
              step,
              ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
            })
          },
          { slot: true },
        )
        wrote = true
        this.opts.onDay(b.labelId, day)
        b = { ...b, done: step + 1 }
        this.changed(b)
      }
      const end = await this.opts.engine.updateBackfill(b.id, { status: 'succeeded' })
      if (end) this.changed(end)
    } catch (e) {
      // Stopped here (shutdown, cancel, taken over): the stored job says the rest.
      const left = e instanceof Left || this.closed || (e instanceof LabelsError && e.code === 'conflict')
      if (!left) {
        const msg =
          e instanceof LabelsError && e.path ? `${e.message} (at ${e.path})` : String((e as Error)?.message ?? e)
        const end = await this.opts.engine.updateBackfill(b.id, { status: 'failed', error: msg }).catch(() => null)
        if (end) this.changed(end)
      }
    }
    if (wrote) await this.opts.onEnd(b.labelId).catch(() => {})
  }
}
