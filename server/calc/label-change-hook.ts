import type { RunTrigger } from '../../engine/api.ts'
import type { Label } from '../../shared/schemas/label.ts'
import type { LabelChange } from '../workspace/workspace.ts'

/** What a definition change asks of the engine side. */
export interface ChangeEffects {
  /** Queue a run with this trigger. */
  run: RunTrigger | null
  /** The scheduler must re-read this label's timetable. */
  reschedule: boolean
  /** Remove the label's results, history and runs. */
  dropData: boolean
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

/**
 * docs/semantics.md#what-triggers-a-run as a pure decision: a new label (static or dynamic) is calculated once at creation;
 * an edited rule or data type recalculates; schedule, type or availability changes only
 * reschedule; renames, moves and descriptions change nothing on the engine side.
 */
export function effectsOf(change: LabelChange): ChangeEffects {
  switch (change.kind) {
    case 'created':
      return { run: 'create', reschedule: true, dropData: false }
    case 'deleted':
      return { run: null, reschedule: true, dropData: true }
    case 'updated': {
      const a: Label = change.previous
      const b = change.label
      const definition = !same(a.rule, b.rule) || a.dataType !== b.dataType
      const timing = !same(a.schedule, b.schedule) || a.enabled !== b.enabled || a.labelType !== b.labelType
      return { run: definition ? 'update' : null, reschedule: definition || timing, dropData: false }
    }
  }
}
