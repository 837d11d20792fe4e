import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Run } from '../../engine/api.ts'
import { nextRunAfter } from '../../shared/schedule.ts'
import { RunQueue } from '../runs/run-queue.ts'
import type { CalcControl } from '../calc/calc-control.ts'
import { effectsOf } from '../calc/label-change-hook.ts'
import type { WorkspaceLabel } from '../workspace/workspace.ts'
import '../types.ts'

export interface CalcPluginOptions {
  /** Statement budget of one run. */
  timeoutMs?: number
  /** Runs at once across labels; PGlite has one connection, so 1 there. */
  concurrency?: number
  /** Clock (tests). */
  now?: () => Date
}

/**
 * Wires calculation: the RunQueue, definition changes from the workspace document (any
 * origin) to runs and data removal, and every run status change to the live channel —
 * with the new distribution and history when a run succeeds.
 */
export default fp(
  async function calcPlugin(app: FastifyInstance, opts: CalcPluginOptions) {
    const now = opts.now ?? (() => new Date())

    const publishResults = async (run: Run) => {
      if (!app.live.wantsResults(run.labelId)) return
      const label = app.workspace.findLabel(run.labelId)
      if (!label) return
      const [d, h] = await Promise.all([app.engine.distribution(run.labelId, label.dataType, {}), app.engine.history(run.labelId, {})])
      if (d) app.live.publishDistribution({ ...d, labelId: run.labelId })
      app.live.publishHistory(h)
    }
    const announce = (run: Run) => {
      app.live.publishRun(run)
      if (run.status === 'succeeded') publishResults(run).catch((e: unknown) => app.log.warn({ err: e, runId: run.id }, 'live results failed'))
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

    const control: CalcControl = {
      async trigger(label: WorkspaceLabel, trigger, asOf) {
        return (await queue.trigger(label.id, trigger, asOf)).id
      },
      nextRunAt(label) {
        if (!label.enabled || label.labelType !== 'dynamic') return null
        return nextRunAfter(label.schedule, now(), app.tz)?.toISOString() ?? null
      },
      announce,
    }
    app.decorate('calc', control)
    app.decorate('runQueue', queue)

    const unsubscribe = app.workspace.onLabelChange((change) => {
      const fx = effectsOf(change)
      const id = change.kind === 'deleted' ? change.previous.id : change.label.id
      if (fx.run) queue.trigger(id, fx.run).catch((e: unknown) => app.log.warn({ err: e, labelId: id }, 'run trigger failed'))
      if (fx.dropData) app.engine.deleteLabelData(id).catch((e: unknown) => app.log.warn({ err: e, labelId: id }, 'deleting label data failed'))
      if (fx.reschedule) app.scheduleChanged?.()
    })

    app.addHook('onClose', async () => {
      unsubscribe()
      await queue.close()
    })
  },
  { name: 'calc', dependencies: ['engine', 'workspace', 'live'] },
)
