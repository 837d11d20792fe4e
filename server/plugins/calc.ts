import type { FastifyInstance } from 'fastify'
import { randomBytes } from 'node:crypto'
import fp from 'fastify-plugin'
import type { Backfill, Distribution, Run, RunResults } from '../../engine/api.ts'
import { ResultCache } from '../calc/result-cache.ts'
import { typedHistory } from '../../shared/history-values.ts'
import { RunJournal } from '../runs/run-journal.ts'
import { RunQueue } from '../runs/run-queue.ts'
import { Backfills } from '../runs/backfill.ts'
import { Scheduler, systemClock, type Clock } from '../runs/scheduler.ts'
import type { CalcControl } from '../calc/calc-control.ts'
import { effectsOf } from '../calc/label-change-hook.ts'
import { LastRuns } from '../calc/last-runs.ts'
import { ReadModel } from '../calc/read-model.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import type { Cluster } from '../cluster/index.ts'
import '../types.ts'

export interface CalcPluginOptions {
  /** Statement budget of one run. */
  timeoutMs?: number
  /** Runs at once across labels; PGlite has one connection, so 1 there. */
  concurrency?: number
  /** On shutdown, how long running calculations may take to finish before they are abandoned. */
  closeGraceMs?: number
  /** Clock of the scheduler and default asOf (tests). */
  clock?: Clock
  /**
   * On a single-connection engine (PGlite), how long a read that needs the engine (audience,
   * user labels, a query memory can't answer) waits before answering 503 + Retry-After. Default 3 s.
   */
  readWaitMs?: number
  /**
   * Several processes on one PostgreSQL (server/cluster): runs are claimed in the database and
   * taken over from dead processes, every run change reaches every process's live channel and caches.
   */
  cluster?: Cluster
  /**
   * On a single-connection engine (PGlite): the file that keeps runs acknowledged before their rows
   * are stored (run-journal.ts); the engine plugin stores what a crash left in it at start.
   */
  pendingRunsFile?: string
}

/**
 * Wires calculation: the RunQueue, definition changes from the workspace document (any
 * origin) to runs and data removal, and every run status change to the live channel —
 * with the new distribution and history when a run succeeds.
 */
export default fp(
  async function calcPlugin(app: FastifyInstance, opts: CalcPluginOptions) {
    const clock = opts.clock ?? systemClock
    const now = () => clock.now()

    const last = new LastRuns(app.engine)
    const distributions = new ResultCache<Distribution>()
    const reads = new ReadModel(app.engine)
    // Run changes other processes announce while this one loads its results are kept, then
    // mirrored in order once the mirror exists (wireCluster); the load alone could miss them.
    const early: Run[] = []
    const offEarly = opts.cluster?.bus.on('run', (msg) => {
      early.push(msg.run as Run)
    })
    // Summaries and history of every label, before the first request (results older than
    // summaries are summarised once here).
    await reads.load()
    // Every label's latest run and runs list too, so label lists and runs lists don't ask the
    // engine (on PGlite, behind a calculation).
    await last.load(app.workspace.listLabels().map((l) => l.id))
    const singleConnection = ((app.engine as { kind?: string }).kind ?? 'pglite') === 'pglite'
    const readWaitMs = singleConnection ? (opts.readWaitMs ?? 3000) : undefined

    const publishResults = async (run: Run) => {
      if (!app.live.wantsResults(run.labelId)) return
      const label = app.workspace.findLabel(run.labelId)
      if (!label) return
      await reads.pending(run.labelId)
      const d = reads.distribution(run.labelId, {}) ?? (await app.engine.distribution(run.labelId, label.dataType, {}))
      const h = reads.history(run.labelId, {}) ?? (await app.engine.history(run.labelId, {}))
      if (d) app.live.publishDistribution({ ...d, labelId: run.labelId })
      app.live.publishHistory(typedHistory(h, label.dataType))
    }
    /** The label's whole history to its live subscribers (it changed outside a run). */
    const pushHistory = async (labelId: string) => {
      const label = app.workspace.findLabel(labelId)
      if (!app.live.wantsResults(labelId) || !label) return
      const h = reads.history(labelId, {}) ?? (await app.engine.history(labelId, {}))
      app.live.publishHistory(typedHistory(h, label.dataType))
    }
    const cluster = opts.cluster
    /** Other processes read the label's history anew (it changed outside a run: buckets set, a backfill). */
    const historyElsewhere = (labelId: string) => {
      cluster?.bus
        .publish({ type: 'history', labelId })
        .catch((e: unknown) => app.log.warn({ err: e, labelId }, 'cluster: history change not sent'))
    }
    const announce = (run: Run, results?: RunResults) => {
      if (cluster) {
        const ended = run.status === 'succeeded' || run.status === 'failed'
        // Every process hears of it: live subscribers there, their caches and read models.
        cluster.bus
          .publish({ type: 'run', run })
          .catch((e: unknown) => app.log.warn({ err: e, runId: run.id }, 'cluster: run change not sent'))
        if (run.status === 'queued')
          cluster.runs.own(run.id, run.labelId).catch(() => {}) // taken over a lease later
        else if (ended) cluster.runs.release(run.id).catch(() => {})
      }
      if (run.status === 'succeeded') distributions.invalidate(run.labelId)
      // A label deleted while its run executed: that run's results must not outlive it.
      if (run.status === 'succeeded' && !app.workspace.findLabel(run.labelId)) {
        reads.forget(run.labelId)
        app.engine
          .deleteLabelData(run.labelId)
          .catch((e: unknown) => app.log.warn({ err: e, labelId: run.labelId }, 'deleting label data failed'))
        return
      }
      // The new results are in memory before anyone hears of the success (an import's are read back).
      if (run.status === 'succeeded') {
        if (results && results.summary.runId === run.id) reads.apply(results)
        else void reads.refresh(run.labelId)
      }
      last.note(run)
      app.live.publishRun(run)
      if (run.status === 'succeeded')
        publishResults(run).catch((e: unknown) => app.log.warn({ err: e, runId: run.id }, 'live results failed'))
    }

    const journal = singleConnection && opts.pendingRunsFile ? new RunJournal(opts.pendingRunsFile) : null
    const queue = new RunQueue({
      ...(journal ? { journal } : {}),
      engine: app.engine,
      tz: app.tz,
      getDefinition: (labelId) => {
        const l = app.workspace.findLabel(labelId)
        return l && l.id === labelId ? { dataType: l.dataType, rule: l.rule } : null
      },
      onRunChange: announce,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      ...(cluster
        ? {
            serialize: <T>(id: string, fn: () => Promise<T>) => cluster.runs.serialize(id, fn),
            onExclusive: (id: string) => cluster.runs.hold(id),
            queuedThrough: (run: Run) => cluster.runs.queuedThrough(run, (id) => app.engine.getRun(id)),
          }
        : {}),
      now,
    })

    const scheduler = new Scheduler({
      clock,
      queue,
      tz: app.tz,
      listLabels: () => app.workspace.listLabels(),
      slots: {
        claim: (id, slot) => app.engine.claimScheduleSlot(id, slot),
        last: (id) => app.engine.lastScheduleSlot(id),
      },
      onError: (e, labelId) => app.log.warn({ err: e, labelId }, 'scheduled run failed to start'),
    })
    app.scheduleChanged = () =>
      void scheduler.refresh().catch((e: unknown) => app.log.warn({ err: e }, 'scheduler refresh failed'))

    const control: CalcControl = {
      async trigger(label: WorkspaceLabel, trigger, asOf) {
        return (await queue.trigger(label.id, trigger, asOf)).id
      },
      nextRunAt: (label) => scheduler.nextRunAt(label),
      lastRuns: (ids) => last.get(ids),
      announce: (run) => announce(run),
      async historyChanged(labelId) {
        await reads.refresh(labelId)
        await pushHistory(labelId)
        historyElsewhere(labelId)
      },
      distributions,
      reads,
      run: (id) => last.run(id),
      rememberRun: (run) => last.remember(run),
      listedRuns: (labelId, limit) => last.listed(labelId, limit),
      keepRunList: (labelId, limit, stored) => last.keepList(labelId, limit, stored),
      readWaitMs,
      calculating: () => queue.calculating(),
    }
    app.decorate('calc', control)
    app.decorate('runQueue', queue)
    const backfills = new Backfills({
      engine: app.engine,
      queue,
      nodeId: cluster?.bus.nodeId ?? `local-${randomBytes(6).toString('hex')}`,
      tz: app.tz,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      now,
      findLabel: (id) => {
        const l = app.workspace.findLabel(id)
        return l && l.id === id ? l : null
      },
      onChange: (b) => {
        app.live.publishBackfill(b)
        cluster?.bus
          .publish({ type: 'backfill', backfill: b })
          .catch((e: unknown) => app.log.warn({ err: e, backfillId: b.id }, 'cluster: backfill change not sent'))
      },
      onDay: (labelId, day) => reads.applyDay(labelId, day),
      onEnd: async (labelId) => {
        historyElsewhere(labelId)
        await pushHistory(labelId)
      },
    })
    app.decorate('backfills', backfills)

    const unsubscribe = app.workspace.onLabelChange((change) => {
      const fx = effectsOf(change)
      const id = change.kind === 'deleted' ? change.previous.id : change.label.id
      // A new label's runs list is known (empty, then every noted run): it never asks the engine.
      if (change.kind === 'created') last.created(id)
      if (change.relayed) {
        // The process that integrated the change runs the label and deletes its data.
        if (fx.dropData) last.forget(id), distributions.forget(id), reads.forget(id)
        if (fx.reschedule) app.scheduleChanged?.()
        return
      }
      if (fx.run)
        queue.trigger(id, fx.run).catch((e: unknown) => app.log.warn({ err: e, labelId: id }, 'run trigger failed'))
      if (fx.dropData) {
        last.forget(id)
        distributions.forget(id)
        reads.forget(id)
        app.engine
          .deleteLabelData(id)
          .catch((e: unknown) => app.log.warn({ err: e, labelId: id }, 'deleting label data failed'))
      }
      if (fx.reschedule) app.scheduleChanged?.()
    })

    const stopCluster = cluster
      ? wireCluster(app, cluster, {
          queue,
          last,
          distributions,
          reads,
          publishResults,
          pushHistory,
          announce,
          backfills,
          early,
          offEarly,
        })
      : null

    // Catch-up runs for slots missed while the server was down, once everything is wired.
    app.addHook('onReady', async () => {
      await scheduler.start()
      // Backfills a stop, crash or kill interrupted go on from their next undone day (on a
      // cluster, those of dead processes are taken over by the sweep instead).
      if (!cluster) {
        const left = await app.engine.claimOpenBackfills(backfills.nodeId)
        for (const b of left)
          app.log.warn({ backfillId: b.id, labelId: b.labelId, done: b.done }, 'resuming a backfill')
        backfills.resume(left)
      }
      stopCluster?.start()
    })
    app.addHook('onClose', async () => {
      unsubscribe()
      backfills.close()
      stopCluster?.stop()
      await scheduler.stop()
      // Let running calculations finish; past the grace period abandon them (closing the
      // engine fails them, and the next start marks them interrupted).
      let timer: ReturnType<typeof setTimeout> | undefined
      const grace = new Promise<'late'>((r) => {
        timer = setTimeout(() => r('late'), opts.closeGraceMs ?? 20_000)
      })
      const outcome = await Promise.race([queue.close(), grace])
      clearTimeout(timer)
      if (outcome === 'late') {
        app.log.warn('runs still executing at shutdown are abandoned')
        await queue.close({ abort: true })
      }
      journal?.close()
    })
  },
  { name: 'calc', dependencies: ['engine', 'workspace', 'live'] },
)

/**
 * The run side of several processes on one database: run changes other processes announce are
 * mirrored here (caches, read model, live channel), and runs dead processes left are taken over.
 */
function wireCluster(
  app: FastifyInstance,
  cluster: Cluster,
  parts: {
    queue: RunQueue
    last: LastRuns
    distributions: ResultCache<Distribution>
    reads: ReadModel
    publishResults: (run: Run) => Promise<void>
    pushHistory: (labelId: string) => Promise<void>
    announce: (run: Run) => void
    backfills: Backfills
    /** What arrived while the plugin loaded, and the handler that gathered it. */
    early: Run[]
    offEarly: (() => void) | undefined
  },
): { start(): void; stop(): void } {
  const { queue, last, distributions, reads, publishResults, announce } = parts
  const mirror = (run: Run) => {
    if (run.status === 'succeeded') {
      distributions.invalidate(run.labelId)
      // Its results are read back (on PostgreSQL reads have a pool of their own); reads of the label wait for it.
      if (app.workspace.findLabel(run.labelId)) void reads.refresh(run.labelId)
      else reads.forget(run.labelId)
    }
    last.note(run)
    app.live.publishRun(run)
    if (run.status === 'succeeded')
      publishResults(run).catch((e: unknown) => app.log.warn({ err: e, runId: run.id }, 'live results failed'))
  }
  const offRun = cluster.bus.on('run', (msg) => mirror(msg.run as Run))
  // History another process changed outside a run (buckets set, a backfill's days) and backfill progress.
  const offHistory = cluster.bus.on('history', (msg) => {
    const id = String(msg.labelId)
    if (!app.workspace.findLabel(id)) return
    reads
      .refresh(id)
      .then(() => parts.pushHistory(id))
      .catch((e: unknown) => app.log.warn({ err: e, labelId: id }, 'cluster: history refresh failed'))
  })
  const offBackfill = cluster.bus.on('backfill', (msg) => {
    // A late report of an ended backfill (a day's, after a cancel elsewhere) is not pushed.
    if (parts.backfills.note(msg.backfill as Backfill)) app.live.publishBackfill(msg.backfill as Backfill)
  })
  parts.offEarly?.()
  for (const run of parts.early.splice(0)) mirror(run)
  // Messages were lost while the connection was down: read everything mirrored again.
  const offReconnect = cluster.bus.onReconnect(() => {
    last.clear()
    parts.backfills.forgetKnown()
    distributions.forgetAll()
    reads.load().catch((e: unknown) => app.log.warn({ err: e }, 'cluster: reloading results after a reconnect failed'))
  })
  let timer: ReturnType<typeof setInterval> | null = null
  let sweeping = false
  let stopped = false
  const sweep = async () => {
    if (sweeping || stopped) return
    sweeping = true
    try {
      for (const t of await cluster.runs.takeOver()) {
        const run = await app.engine.getRun(t.id)
        if (run && t.failed) {
          app.log.warn(
            { runId: t.id, labelId: t.labelId, was: t.was },
            t.again
              ? 'cluster: a run its process left running is failed (it stopped); a new run takes its place'
              : 'cluster: an import its process left is failed (it stopped)',
          )
          announce(run)
          if (t.again && app.workspace.findLabel(t.labelId)?.id === t.labelId)
            await queue
              .trigger(t.labelId, t.again.trigger, t.again.asOf)
              .catch((e: unknown) =>
                app.log.warn({ err: e, labelId: t.labelId }, 'cluster: queuing the new run failed'),
              )
          continue
        }
        if (!run || run.status !== 'queued') continue
        app.log.warn(
          { runId: t.id, labelId: t.labelId, was: t.was },
          'cluster: taking over a run its process left (it stopped)',
        )
        void queue.adopt(run)
      }
      const backfills = await cluster.runs.takeOverBackfills()
      for (const id of backfills) {
        const b = await app.engine.getBackfill(id)
        if (!b || (b.status !== 'queued' && b.status !== 'running')) continue
        app.log.warn(
          { backfillId: id, labelId: b.labelId, done: b.done },
          'cluster: taking over a backfill its process left (it stopped)',
        )
        // The days it wrote were never announced (a process says so at the end): read the label's
        // history again first, then this process adds the days it writes (CI, 2026-12-01: a day the
        // dead process wrote was missing from this one's history after the take-over).
        await reads.refresh(b.labelId)
        parts.backfills.resume([b])
      }
    } catch (e) {
      app.log.warn({ err: e }, 'cluster: run take-over sweep failed')
    } finally {
      sweeping = false
    }
  }
  return {
    start() {
      void sweep()
      timer = setInterval(() => void sweep(), Math.max(250, cluster.bus.leaseMs / 3))
      timer.unref?.()
    },
    stop() {
      stopped = true
      if (timer) clearInterval(timer)
      offRun()
      offHistory()
      offBackfill()
      offReconnect()
    },
  }
}
