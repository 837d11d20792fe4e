import type { Backfill, EngineApi, HistoryDay } from '../../engine/api.ts'
import { checkBackfillable, maxBackfillDays } from '../../engine/calc/backfill-rules.ts'
import { badRequest, conflict, LabelsError, notFound } from '../../shared/errors.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import type { RunQueue } from './run-queue.ts'

export interface BackfillOptions {
  engine: Pick<EngineApi, 'backfillDay'>
  queue: Pick<RunQueue, 'exclusive'>
  tz: string
  timeoutMs?: number
  now: () => Date
  /** The label as it is now (null: deleted): each day uses its current definition. */
  findLabel(labelId: string): WorkspaceLabel | null
  /** A backfill changed: pushed on the live channel. */
  onChange(b: Backfill): void
  /** A day was written (the read model takes it); `finished`: the last one of the backfill. */
  onDay(labelId: string, day: HistoryDay): void
  /** The backfill ended having written days: the history is pushed once. */
  onEnd(labelId: string): Promise<void>
}

/** Backfills kept per label for GET (the newest). */
const keptPerLabel = 10

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

let seq = 0
const newId = () => `bf_${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 10)}`

/**
 * Backfills (docs/semantics.md#backfill): a label's history calculated for each of the last N
 * days as of the end of that day, writing only history. Each day runs as exclusive work on the
 * label's run queue (server/runs/run-queue.ts), so it waits for the label's queued and running
 * runs, and runs triggered meanwhile go before the next day. One backfill per label at a time.
 * Kept in this process's memory: a restart ends one in progress (its written days stay).
 */
export class Backfills {
  private readonly byId = new Map<string, Backfill>()
  private readonly byLabel = new Map<string, string[]>()
  private closed = false

  constructor(private readonly opts: BackfillOptions) {}

  /** Checks and starts a backfill of the label; resolves at once with it (queued). */
  start(label: WorkspaceLabel, days: unknown): Backfill {
    if (this.closed) throw new LabelsError('unavailable', 'the server is shutting down; no new backfills')
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > maxBackfillDays)
      throw badRequest(
        `days must be a whole number from 1 to ${maxBackfillDays}, got ${JSON.stringify(days) ?? 'nothing'}`,
        '/body/days',
      )
    checkBackfillable({ dataType: label.dataType, rule: label.rule }, label.name)
    const active = this.list(label.id).find((b) => b.status === 'queued' || b.status === 'running')
    if (active) throw conflict(`a backfill of label "${label.name}" is already ${active.status} (${active.id})`)
    const dates = backfillDates(dateIn(this.opts.now(), this.opts.tz), days)
    const b: Backfill = {
      id: newId(),
      labelId: label.id,
      days,
      from: dates[dates.length - 1] as string,
      to: dates[0] as string,
      done: 0,
      status: 'queued',
      createdAt: this.opts.now().toISOString(),
      startedAt: null,
      finishedAt: null,
    }
    this.byId.set(b.id, b)
    const ids = [b.id, ...(this.byLabel.get(label.id) ?? [])]
    for (const old of ids.splice(keptPerLabel)) this.byId.delete(old)
    this.byLabel.set(label.id, ids)
    const queued = { ...b }
    this.opts.onChange(queued)
    void this.execute(b, dates)
    return queued
  }

  get(id: string): Backfill | null {
    const b = this.byId.get(id)
    return b ? { ...b } : null
  }

  /** The label's backfills, newest first. */
  list(labelId: string): Backfill[] {
    return (this.byLabel.get(labelId) ?? []).map((id) => ({ ...(this.byId.get(id) as Backfill) }))
  }

  /** Starts no more days (the one executing ends as it will). */
  close(): void {
    this.closed = true
  }

  private update(b: Backfill, patch: Partial<Backfill>): void {
    Object.assign(b, patch)
    this.opts.onChange({ ...b })
  }

  private async execute(b: Backfill, dates: string[]): Promise<void> {
    try {
      for (const date of dates) {
        const day = await this.opts.queue.exclusive(b.labelId, async () => {
          if (this.closed) throw new LabelsError('unavailable', 'the server shut down during the backfill')
          const label = this.opts.findLabel(b.labelId)
          if (!label) throw notFound('the label was deleted during the backfill')
          if (b.status === 'queued') this.update(b, { status: 'running', startedAt: this.opts.now().toISOString() })
          return this.opts.engine.backfillDay({
            labelId: b.labelId,
            definition: { dataType: label.dataType, rule: label.rule },
            date,
            tz: this.opts.tz,
            jobId: b.id,
            ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
          })
        })
        this.opts.onDay(b.labelId, day)
        this.update(b, { done: b.done + 1 })
      }
      this.update(b, { status: 'succeeded', finishedAt: this.opts.now().toISOString() })
    } catch (e) {
      const msg =
        e instanceof LabelsError && e.path ? `${e.message} (at ${e.path})` : String((e as Error)?.message ?? e)
      this.update(b, { status: 'failed', finishedAt: this.opts.now().toISOString(), error: msg })
    }
    if (b.done > 0) await this.opts.onEnd(b.labelId).catch(() => {})
  }
}
