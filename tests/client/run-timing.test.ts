import { describe, expect, it } from 'vitest'
import {
  computedText,
  formatDuration,
  phasesText,
  runLength,
  slowText,
} from '../../client/features/labels/run-timing.ts'

describe('how the label detail words a run’s time', () => {
  const en = { locale: 'en-US' }
  it('writes a length in ms, seconds or minutes', () => {
    expect(formatDuration(0, en)).toBe('0 ms')
    expect(formatDuration(849.6, en)).toBe('850 ms')
    expect(formatDuration(1234, en)).toBe('1.2 s')
    expect(formatDuration(59_940, en)).toBe('59.9 s')
    expect(formatDuration(185_000, en)).toBe('3 min 5 s')
  })

  it('measures a run from its start to its finish, and not before it finished', () => {
    expect(runLength({ startedAt: '2026-12-05T06:00:00.000Z', finishedAt: '2026-12-05T06:00:01.250Z' })).toBe(1250)
    expect(runLength({ startedAt: '2026-12-05T06:00:00.000Z', finishedAt: null })).toBeNull()
    expect(runLength({ startedAt: null, finishedAt: null })).toBeNull()
  })

  it('lists the phases that took time, in order', () => {
    expect(phasesText({ prepareMs: 12.3, collectMs: 0, computeMs: 1100, historyMs: 20, summaryMs: 0.2 }, en)).toBe(
      'prepare 12 ms · compute and write 1.1 s · history 20 ms',
    )
    expect(phasesText({ prepareMs: 1, collectMs: 40, computeMs: 5, historyMs: 1, summaryMs: 1 }, en)).toBe(
      'prepare 1 ms · find changed customers 40 ms · compute and write 5 ms · history 1 ms · summary 1 ms',
    )
  })

  it('says whom a run computed: the changed customers, or everyone and why', () => {
    expect(computedText({ recomputedUsers: 2617 }, en)).toBe(
      'computed the 2,617 changed customers; the others kept their values',
    )
    expect(computedText({ recomputedUsers: null, fullRunReason: 'rule' }, en)).toBe(
      'computed every customer: its rule, data type or time zone changed',
    )
    expect(computedText({ recomputedUsers: null, fullRunReason: 'stale' }, en)).toMatch(/older than the 8 days/)
    // A run from before the reason was recorded (or an import) says nothing.
    expect(computedText({ recomputedUsers: null }, en)).toBeNull()
  })

  it('says which statement of a slow run was slow, against what', () => {
    expect(slowText({ phase: 'compute', ms: 50_612.3, usualMs: 540.2 }, en)).toBe(
      "A statement computing and writing the values took 50.6 s, against 540 ms for that whole phase in the label's previous run.",
    )
    expect(slowText({ phase: 'collect', ms: 1500, usualMs: 20 }, en)).toMatch(
      /^A statement finding the changed customers took 1.5 s/,
    )
  })
})
