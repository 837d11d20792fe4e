import type { Definition, EngineApi, Run, RunResults, RunTrigger } from '../../engine/api.ts'
import { newRunId, queuedRun } from '../../engine/calc/runs.ts'
import { LabelsError, notFound } from '../../shared/errors.ts'
import type { RunJournal } from './run-journal.ts'

export interface RunQueueOptions {
  engine: Pick<EngineApi, 'createRun' | 'executeRun' | 'getRun' | 'executeRunWithResults'>
  /** Workspace time zone, passed to every run (history dates, window dates). */
  tz: string
  /** The label's current definition, or null when the label doesn't exist (any more). */
  getDefinition(labelId: string): Definition | null
  /**
   * Called on every status change: queued, running, then succeeded or failed; a success carries
   * what the run produced for reads (when the engine hands it back), before anyone else hears.
   */
  onRunChange(run: Run, results?: RunResults): void
  timeoutMs?: number
  /** Runs executing at once across all labels; 1 suits PGlite's single connection. */
  concurrency?: number
  /** Clock for the default `asOf`. */
  now?: () => Date
  /**
   * Wraps the execution of each run (from its `running` report to its end). Several processes on
   * one database pass a lock that keeps two of them from executing runs of one label at once.
   */
  serialize?<T>(labelId: string, fn: () => Promise<T>): Promise<T>
  /**
   * Several processes on one database: the label's runs still queued in the database and created
   * up to and including `run`, oldest first, read under the label's `serialize` lock as `run` is
   * about to execute. The queue executes the older ones first, and `run` only if it is listed; a
   * listed run no longer queued (failed as superseded meanwhile: server/cluster/run-claims.ts) is
   * reported as it is.
   */
  queuedThrough?(run: Run): Promise<Run[]>
  /** Called as exclusive work (an import) starts on a label; the returned function as it ends (cluster: marks it in progress). */
  onExclusive?(labelId: string): Promise<() => Promise<void>>
  /**
   * Acknowledge each run before its row is stored, keeping it here meanwhile (PGlite: a run's row
   * would wait behind the calculation holding the one connection; run-journal.ts).
   */
  journal?: Pick<RunJournal, 'record' | 'settled'>
}

/** One run of a label as the queue tracks it, from creation to its end. */
interface Entry {
  labelId: string
  /** The run as stored (its row inserted): it executes once this resolves. */
  created: Promise<Run>
  /** The run as its triggers are answered: `created`, or at once with a journal. */
  acked: Promise<Run>
}

/** Exclusive work waiting for an executor: `grant` hands it the release of the executor it takes. */
interface Slot {
  labelId: string
  grant(release: () => void): void
  refuse(e: Error): void
}

/** A label's place in the queue: the run in flight, and at most one more to follow it. */
interface LabelState {
  current: Entry
  next: Entry | null
}

/**
 * The server's run queue (docs/semantics.md#runs): one run per label at a time; triggers while a label's
 * run is queued or running coalesce into one more run, created at the first such trigger
 * (so its definition and asOf are that trigger's) and returned to every later one.
 * Runs of different labels share a global concurrency limit, first come first served.
 */
export class RunQueue {
  private readonly opts: RunQueueOptions
  private readonly concurrency: number
  private readonly labels = new Map<string, LabelState>()
  /** Work waiting for a free executor, first come first served: queued runs and slots for exclusive work. */
  private readonly ready: Array<{ labelId: string; run: Run } | Slot> = []
  private readonly executing = new Set<Promise<void>>()
  private idleWaiters: Array<() => void> = []
  /** Work that must not overlap the label's runs (imports), by label. */
  private readonly exclusives = new Map<string, Promise<unknown>>()
  private readonly labelWaiters = new Map<string, Array<() => void>>()
  private closed = false

  constructor(opts: RunQueueOptions) {
    this.opts = opts
    this.concurrency = Math.max(1, opts.concurrency ?? 1)
  }

  /** Queues a run of the label (or joins the one waiting behind its current run). */
  trigger(labelId: string, trigger: RunTrigger, asOf?: string): Promise<Run> {
    if (this.closed) return Promise.reject(new LabelsError('unavailable', 'the server is shutting down; no new runs'))
    const state = this.labels.get(labelId)
    if (!state) {
      const current = this.create(labelId, trigger, asOf)
      this.labels.set(labelId, { current, next: null })
      this.activate(current)
      return current.acked
    }
    if (!state.next) {
      const next = this.create(labelId, trigger, asOf, state.current.created)
      state.next = next
      // A failed creation (label gone, database error) must not absorb later triggers.
      next.created.catch(() => {
        if (state.next === next) state.next = null
      })
    }
    return state.next.acked
  }

  /**
   * Executes a run that is already queued in the database (another process created it and died:
   * server/cluster/run-claims.ts), after the label's runs in this process. Resolves once it is
   * this label's current run here.
   */
  async adopt(run: Run): Promise<void> {
    for (;;) {
      if (this.closed) return
      if (!this.labels.has(run.labelId)) break
      await new Promise<void>((r) =>
        this.labelWaiters.set(run.labelId, [...(this.labelWaiters.get(run.labelId) ?? []), r]),
      )
    }
    const current: Entry = { labelId: run.labelId, created: Promise.resolve(run), acked: Promise.resolve(run) }
    this.labels.set(run.labelId, { current, next: null })
    this.report(run)
    this.activate(current)
  }

  /**
   * Runs fn for the label when none of its runs is queued or running, and holds the label's
   * next runs until fn ends: an import and a recalculation of the same label never overlap.
   * With `slot` (a backfill day: a calculation), fn also takes one of the global executors, in
   * turn with the queued runs, and runs under `serialize` as a run does: it never runs beside
   * `concurrency` runs, nor beside a run of the label on another process.
   */
  async exclusive<T>(labelId: string, fn: () => Promise<T>, opts: { slot?: boolean } = {}): Promise<T> {
    if (this.closed) throw new LabelsError('unavailable', 'the server is shutting down')
    for (;;) {
      const held = this.exclusives.get(labelId)
      if (held) await held.catch(() => {})
      else if (this.labels.has(labelId))
        await new Promise<void>((r) => this.labelWaiters.set(labelId, [...(this.labelWaiters.get(labelId) ?? []), r]))
      else break
      // close() wakes every waiter: work that never started must not start during shutdown.
      if (this.closed) throw new LabelsError('unavailable', 'the server is shutting down')
    }
    const hook = this.opts.onExclusive
    const work = (async () => {
      const release = hook ? await hook(labelId).catch(() => null) : null
      try {
        if (!opts.slot) return await fn()
        const free = await this.slot(labelId)
        try {
          return await (this.opts.serialize ? this.opts.serialize(labelId, fn) : fn())
        } finally {
          free()
        }
      } finally {
        await release?.().catch(() => {})
      }
    })()
    this.exclusives.set(labelId, work)
    try {
      return await work
    } finally {
      this.exclusives.delete(labelId)
      this.settleIdle()
    }
  }

  /** Waits for a free executor (in turn with queued runs) and takes it; resolves with its release. */
  private slot(labelId: string): Promise<() => void> {
    return new Promise((grant, refuse) => {
      this.ready.push({ labelId, grant, refuse })
      this.pump()
    })
  }

  /** Resolves when no run is queued or running. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /** True while a run or exclusive work (an import) executes on the engine. */
  calculating(): boolean {
    return this.executing.size > 0 || this.exclusives.size > 0
  }

  /** Labels with a run queued or running (for diagnostics and tests). */
  busyLabels(): string[] {
    return [...this.labels.keys()]
  }

  /**
   * Refuses new triggers and starts no more runs. Waits for the runs already executing;
   * with `abort`, returns at once and lets them end as they will (closing the engine makes
   * them fail). Runs still queued stay `queued` in the database: on PGlite the next start's
   * engine.failInterruptedRuns() marks them failed ("interrupted"); on PostgreSQL another
   * process, or the next start, takes them over (server/cluster/run-claims.ts).
   */
  async close(opts: { abort?: boolean } = {}): Promise<void> {
    this.closed = true
    for (const item of this.ready.splice(0))
      if ('grant' in item) item.refuse(new LabelsError('unavailable', 'the server is shutting down'))
    if (!opts.abort) await Promise.all([...this.executing])
    this.labels.clear()
    // Exclusive work waiting for a label's runs is refused, not left pending forever.
    const waiters = [...this.labelWaiters.values()].flat()
    this.labelWaiters.clear()
    for (const w of waiters) w()
    this.settleIdle()
  }

  /**
   * Creates the run with the label's definition and asOf as of now (the trigger). With `after` (the
   * label's current run still being created), its row is inserted once that one's is: a label's runs
   * are then stored in the order they run, and "newest first" (created_at, then id) lists last the
   * run whose results are replaced by this one's, even when the first insert waited longer (a new
   * pooled connection to PostgreSQL).
   */
  private create(labelId: string, trigger: RunTrigger, asOf: string | undefined, after?: Promise<Run>): Entry {
    const definition = this.opts.getDefinition(labelId)
    const now = this.opts.now?.() ?? new Date()
    const at = asOf ?? now.toISOString()
    const journal = definition ? this.opts.journal : undefined
    // With a journal the run is acknowledged now, under the id its row will get.
    const early = journal
      ? queuedRun({ id: newRunId(), labelId, trigger, asOf: new Date(at).toISOString(), createdAt: now.toISOString() })
      : null
    if (journal && early && definition) {
      try {
        journal.record({ ...early, definition })
      } catch (e) {
        const failed = Promise.reject(e)
        failed.catch(() => {})
        return { labelId, created: failed, acked: failed }
      }
      this.report(early)
    }
    const created = (async () => {
      if (!definition) throw notFound(`label ${labelId} not found`, '/labelId')
      if (after) await after.catch(() => {})
      try {
        const run = await this.opts.engine.createRun({
          labelId,
          trigger,
          asOf: at,
          definition,
          ...(early ? { id: early.id } : {}),
        })
        if (early) journal?.settled(early.id)
        else this.report(run)
        return run
      } catch (e) {
        // Acknowledged but not stored (the engine closed at shutdown, the database failed): its
        // triggers were answered, so say it failed. It stays in the journal: the next start
        // stores it, failed "interrupted".
        if (early)
          this.report({
            ...early,
            status: 'failed',
            finishedAt: new Date().toISOString(),
            error: `the run could not be stored: ${errorText(e)}`,
          })
        throw e
      }
    })()
    // The caller gets the rejection; keep it from also surfacing as unhandled here.
    created.catch(() => {})
    return { labelId, created, acked: early ? Promise.resolve(early) : created }
  }

  /** Makes an entry the label's current run: once created it waits for a free executor. */
  private activate(entry: Entry): void {
    const enqueue = (run: Run) => {
      if (this.closed) return
      this.ready.push({ labelId: entry.labelId, run })
      this.pump()
    }
    entry.created.then(
      (run) => {
        // Exclusive work on the label (an import) holds its runs until it ends.
        const held = this.exclusives.get(entry.labelId)
        if (held) void held.catch(() => {}).then(() => enqueue(run))
        else enqueue(run)
      },
      () => this.finish(entry.labelId),
    )
  }

  private pump(): void {
    while (!this.closed && this.executing.size < this.concurrency && this.ready.length > 0) {
      const item = this.ready.shift()!
      if ('grant' in item) {
        let free = () => {}
        const job = new Promise<void>((r) => (free = r)).finally(() => {
          this.executing.delete(job)
          this.pump()
          this.settleIdle()
        })
        this.executing.add(job)
        item.grant(free)
        continue
      }
      let started = false
      const run = () => ((started = true), this.executeInOrder(item.run))
      const serialized = this.opts.serialize
        ? // The lock failed before the run started (its database is down): run anyway, never leave it queued.
          this.opts.serialize(item.labelId, run).catch(() => (started ? undefined : run()))
        : run()
      const job = serialized.finally(() => {
        this.executing.delete(job)
        this.finish(item.labelId)
        this.pump()
      })
      this.executing.add(job)
    }
  }

  /**
   * Executes the run after the label's older runs that other processes queued and haven't executed
   * (`queuedThrough`): whichever process takes the label's lock first, a label's runs execute in
   * the order they were created, so the results that stand are the newest run's, the first listed.
   * Each process coalesces only its own triggers, and the lock goes to whoever asks first: without
   * this a run created on one process could execute after a newer one created on another and leave
   * older results standing. A run another process already executed is reported as stored.
   */
  private async executeInOrder(run: Run): Promise<void> {
    const through = this.opts.queuedThrough
    if (!through) return this.execute(run)
    let queued: Run[]
    try {
      queued = await through(run)
    } catch {
      return this.execute(run) // the database is failing: the run will report it
    }
    // Oldest first, so `run` (when listed) last.
    for (const r of queued) {
      if (r.status === 'queued') await this.execute(r)
      else this.report(r)
    }
    if (queued.some((r) => r.id === run.id)) return
    const stored = await this.opts.engine.getRun(run.id).catch(() => null)
    if (stored && stored.status !== 'queued') this.report(stored)
    else if (stored) await this.execute(run)
  }

  private async execute(queued: Run): Promise<void> {
    // executeRun moves the run to running and on to its end in one call; report running as
    // it starts rather than polling the engine mid-run (on PGlite a read would wait for it).
    this.report({ ...queued, status: 'running', startedAt: new Date().toISOString() })
    let end: Run | null
    let results: RunResults | undefined
    // The definition as the run starts: edits made while it waited in the queue count.
    const definition = this.opts.getDefinition(queued.labelId)
    const opts = {
      tz: this.opts.tz,
      ...(definition ? { definition } : {}),
      ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
    }
    try {
      if (this.opts.engine.executeRunWithResults) {
        const out = await this.opts.engine.executeRunWithResults(queued.id, opts)
        end = out.run
        results = out.results ?? undefined
      } else end = await this.opts.engine.executeRun(queued.id, opts)
    } catch (e) {
      // Another process claimed it first, or took it over from this one and finished it (several
      // processes on one database). This process announced "running": what is stored corrects it.
      if (e instanceof LabelsError && e.code === 'conflict') {
        const stored = await this.opts.engine.getRun(queued.id).catch(() => null)
        if (stored) this.report(stored)
        return
      }
      end = await this.opts.engine.getRun(queued.id).catch(() => null)
      if (!end || end.status === 'queued' || end.status === 'running') {
        end = { ...queued, status: 'failed', finishedAt: new Date().toISOString(), error: errorText(e) }
      }
    }
    this.report(end, results)
  }

  /** The label's current run ended (or was never created): promote the next, if any. */
  private finish(labelId: string): void {
    const state = this.labels.get(labelId)
    if (!state) return this.settleIdle()
    if (state.next && !this.closed) {
      state.current = state.next
      state.next = null
      this.activate(state.current)
    } else {
      this.labels.delete(labelId)
      const waiters = this.labelWaiters.get(labelId) ?? []
      this.labelWaiters.delete(labelId)
      for (const w of waiters) w()
    }
    this.settleIdle()
  }

  private report(run: Run, results?: RunResults): void {
    try {
      if (results) this.opts.onRunChange(run, results)
      else this.opts.onRunChange(run)
    } catch {
      // A listener's bug must not wedge the queue.
    }
  }

  private isIdle(): boolean {
    return this.labels.size === 0 && this.executing.size === 0 && this.exclusives.size === 0
  }

  private settleIdle(): void {
    if (!this.isIdle()) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
