import { incrementalLimits } from '../../../shared/limits.ts'
import type { Run, RunTimings } from '../../api/types.ts'
import { formatCount, formatNumber, type FormatOptions } from '../../ui/format.ts'

/**
 * How the label detail words a run's time: its length (start to finish), where it went by phase
 * (runs.timings: engine/calc/run-clock.ts) and, for a run the engine marked slow, what was slow.
 */

/** A length of time: "850 ms", "1.2 s", "3 min 5 s". */
export function formatDuration(ms: number, o: FormatOptions = {}): string {
  if (ms < 1000) return `${formatNumber(Math.round(ms), o)} ms`
  if (ms < 60_000) return `${formatNumber(Math.round(ms / 100) / 10, o)} s`
  const s = Math.round(ms / 1000)
  return `${Math.floor(s / 60)} min ${s % 60} s`
}

/** From its start to its finish; null until it finished. */
export function runLength(run: Pick<Run, 'startedAt' | 'finishedAt'>): number | null {
  if (!run.startedAt || !run.finishedAt) return null
  return Math.max(0, Date.parse(run.finishedAt) - Date.parse(run.startedAt))
}

const phaseNames: Array<[keyof RunTimings, string]> = [
  ['prepareMs', 'prepare'],
  ['collectMs', 'find changed customers'],
  ['computeMs', 'compute and write'],
  ['historyMs', 'history'],
  ['summaryMs', 'summary'],
]

/** "compute and write 1.1 s · history 20 ms · …": the phases that took any time, in order. */
export function phasesText(t: RunTimings, o: FormatOptions = {}): string {
  return phaseNames
    .filter(([k]) => t[k] >= 0.5)
    .map(([k, name]) => `${name} ${formatDuration(t[k], o)}`)
    .join(' · ')
}

const slowPhase: Record<NonNullable<Run['slow']>['phase'], string> = {
  prepare: 'preparing',
  collect: 'finding the changed customers',
  compute: 'computing and writing the values',
  history: 'the history snapshot',
  summary: 'the summary',
}

/** What a slow run's mark says: which statement, how long, against what. */
export function slowText(slow: NonNullable<Run['slow']>, o: FormatOptions = {}): string {
  return (
    `A statement ${slowPhase[slow.phase]} took ${formatDuration(slow.ms, o)}, ` +
    `against ${formatDuration(slow.usualMs, o)} for that whole phase in the label's previous run.`
  )
}

const fullReasons: Record<NonNullable<Run['fullRunReason']>, string> = {
  first: 'the label had no results to start from',
  rule: 'its rule, data type or time zone changed',
  stale: `its results were older than the ${incrementalLimits.changesKeptDays} days of changes kept`,
  slower: 'its last run over the changed customers took longer than one over everyone',
  many: `more than ${Math.round(incrementalLimits.maxShare * 100)}% of the customers changed`,
  off: 'incremental runs are off here',
}

/** Whom a succeeded calculation computed: the changed customers only, or everyone and why. */
export function computedText(
  run: Pick<Run, 'recomputedUsers' | 'fullRunReason'>,
  o: FormatOptions = {},
): string | null {
  if (run.recomputedUsers != null)
    return `computed the ${formatCount(run.recomputedUsers, o)} changed customers; the others kept their values`
  if (run.fullRunReason) return `computed every customer: ${fullReasons[run.fullRunReason]}`
  return null
}
