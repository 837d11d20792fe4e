import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Distribution, Run, RunResults } from '../../engine/api.ts'
import { ResultCache } from '../calc/result-cache.ts'
import { RunQueue } from '../runs/run-queue.ts'
import { Scheduler, systemClock, type Clock } from '../runs/scheduler.ts'
import type { CalcControl } from '../calc/calc-control.ts'
import { effectsOf } from '../calc/label-change-hook.ts'
import { LastRuns } from '../calc/last-runs.ts'
import { ReadModel } from '../calc/read-model.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
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
    // Summaries and history of every label, before the first request (results older than
    // summaries are summarised once here).
    await reads.load()
    // Every label's latest run too, so label lists never ask the engine (on PGlite, behind a calculation).
    await last.get(app.workspace.listLabels().map((l) => l.id))
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
      app.live.publishHistory(h)
    }
    const announce = (run: Run, results?: RunResults) => {
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

    const queue = new RunQueue({
      engine: app.engine,
      tz: app.tz,
      getDefinition: (labelId) => {
        const l = app.workspace.findLabel(labelId)
        return l && l.id === labelId ? { dataType: l.dataType, rule: l.rule } : null
      },
      onRunChange: announce,
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
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
      distributions,
      reads,
      run: (id) => last.run(id),
      rememberRun: (run) => last.remember(run),
      readWaitMs,
      calculating: () => queue.calculating(),
    }
    app.decorate('calc', control)
    app.decorate('runQueue', queue)

    const unsubscribe = app.workspace.onLabelChange((change) => {
      const fx = effectsOf(change)
      const id = change.kind === 'deleted' ? change.previous.id : change.label.id
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

    // Catch-up runs for slots missed while the server was down, once everything is wired.
    app.addHook('onReady', async () => scheduler.start())
    app.addHook('onClose', async () => {
      unsubscribe()
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
    })
  },
  { name: 'calc', dependencies: ['engine', 'workspace', 'live'] },
)
