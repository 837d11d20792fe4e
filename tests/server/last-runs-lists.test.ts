/**
 * A label's runs list kept in memory (server/calc/last-runs.ts): once read from the engine, it
 * follows every noted run and answers GET /api/labels/:label/runs as the engine would have, so the
 * list never waits behind a calculation. Checked against a reference "database" of runs under
 * random runs created and updated, reads with random limits, and notes that arrive while a read runs.
 */
import { describe, expect, it } from 'vitest'
import type { Run } from '../../engine/api.ts'
import { LastRuns } from '../../server/calc/last-runs.ts'

function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const engineStub = { lastRuns: async () => ({}), listRunsOf: async () => ({}) }
const t0 = Date.parse('2026-12-01T00:00:00Z')

function run(labelId: string, n: number, at: number, status: Run['status'] = 'queued'): Run {
  return {
    id: `r_${String(n).padStart(6, '0')}`,
    labelId,
    status,
    trigger: 'manual',
    asOf: new Date(at).toISOString(),
    createdAt: new Date(at).toISOString(),
    startedAt: null,
    finishedAt: null,
    totalUsers: null,
    coveredUsers: null,
  }
}

/** The engine's list: newest created first, then higher id first. */
function engineList(db: Map<string, Run>, labelId: string, limit: number): Run[] {
  return [...db.values()]
    .filter((r) => r.labelId === labelId)
    .sort((a, b) => (a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? 1 : -1) : a.id < b.id ? 1 : -1))
    .slice(0, limit)
}

describe('runs lists kept in memory', () => {
  it('is not known before the label was listed once; then answers without the engine', () => {
    const last = new LastRuns(engineStub)
    expect(last.listed('l1', 50)).toBeUndefined()
    const a = run('l1', 1, t0, 'succeeded')
    last.keepList('l1', 50, [a])
    expect(last.listed('l1', 50)).toEqual([a])
    // A new run, then its status changes: the list follows.
    const b = run('l1', 2, t0 + 1000)
    last.note(b)
    last.note({ ...b, status: 'running' })
    expect(last.listed('l1', 50)?.map((r) => [r.id, r.status])).toEqual([
      [b.id, 'running'],
      [a.id, 'succeeded'],
    ])
    // A limit past what a short read knew (asked for 1, the label may have more) goes to the engine.
    const other = new LastRuns(engineStub)
    other.keepList('l2', 1, [run('l2', 3, t0)])
    expect(other.listed('l2', 1)).toHaveLength(1)
    expect(other.listed('l2', 2)).toBeUndefined()
    other.forget('l2')
    expect(other.listed('l2', 1)).toBeUndefined()
  })

  it("at start, loads every label's list in one engine call: short lists known whole, long ones up to the limit", async () => {
    const db = new Map<string, Run>()
    let n = 0
    const add = (labelId: string, count: number) => {
      for (let i = 0; i < count; i++) {
        const x = run(labelId, ++n, t0 + n * 1000, 'succeeded')
        db.set(x.id, x)
      }
    }
    add('few', 3)
    add('many', 120)
    const calls: string[] = []
    const engine = {
      lastRuns: async () => {
        calls.push('lastRuns')
        return {}
      },
      listRunsOf: async (ids: string[], limit: number) => {
        calls.push(`listRunsOf ${limit}`)
        const out: Record<string, Run[]> = {}
        for (const id of ids) {
          const l = engineList(db, id, limit)
          if (l.length) out[id] = l
        }
        return out
      },
    }
    const last = new LastRuns(engine)
    await last.load(['few', 'many', 'none'])
    expect(calls).toEqual(['listRunsOf 50'])
    expect(last.listed('few', 500)).toEqual(engineList(db, 'few', 500))
    expect(last.listed('none', 500)).toEqual([])
    expect(last.listed('many', 50)).toEqual(engineList(db, 'many', 50))
    expect(last.listed('many', 51)).toBeUndefined()
    expect(await last.get(['few', 'many', 'none'])).toEqual({
      few: engineList(db, 'few', 1)[0],
      many: engineList(db, 'many', 1)[0],
      none: null,
    })
    expect(calls).toEqual(['listRunsOf 50'])
    // A new run of a label without runs joins its (whole) list.
    const x = run('none', ++n, t0 + n * 1000)
    db.set(x.id, x)
    last.note(x)
    expect(last.listed('none', 10)).toEqual(engineList(db, 'none', 10))
    // More labels than the budget allows at 50 each: fewer runs per label.
    const small = new LastRuns(engine)
    await small.load(['few', 'many', 'none'], 50, 30)
    expect(calls.at(-1)).toBe('listRunsOf 10')
    expect(small.listed('many', 10)).toEqual(engineList(db, 'many', 10))
    expect(small.listed('many', 11)).toBeUndefined()
    expect(small.listed('few', 500)).toEqual(engineList(db, 'few', 500))
    // A list keeps as many runs as it was read for: 60 more runs of 'few' leave its newest 50.
    for (let i = 0; i < 60; i++) {
      const y = run('few', ++n, t0 + n * 1000, 'succeeded')
      db.set(y.id, y)
      last.note(y)
    }
    expect(last.listed('few', 50)).toEqual(engineList(db, 'few', 50))
    expect(last.listed('few', 51)).toBeUndefined()
  })

  it('a label just created is known whole without the engine, with the runs noted before and after', () => {
    const last = new LastRuns(engineStub)
    const a = run('new', 1, t0) // noted before the change reached the hook (another process's run)
    last.note(a)
    last.created('new')
    const b = run('new', 2, t0 + 1000)
    last.note(b)
    expect(last.listed('new', 500)?.map((r) => r.id)).toEqual([b.id, a.id])
  })

  it('a label the engine has no run of is known whole from then on', async () => {
    const last = new LastRuns(engineStub)
    expect(await last.get(['fresh'])).toEqual({ fresh: null })
    expect(last.listed('fresh', 50)).toEqual([])
    const a = run('fresh', 1, t0)
    last.note(a)
    last.note({ ...a, status: 'running' })
    expect(last.listed('fresh', 50)?.map((r) => [r.id, r.status])).toEqual([[a.id, 'running']])
  })

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}: every answer from memory equals the engine's list`, () => {
      const r = rng(seed)
      const db = new Map<string, Run>()
      const last = new LastRuns(engineStub)
      const labels = ['a', 'b', 'c']
      let n = 0
      let clock = t0
      let fromMemory = 0
      /** A read in flight: its snapshot was taken, its answer is kept later (notes arrive meanwhile). */
      let inFlight: { labelId: string; limit: number; stored: Run[] } | null = null
      for (let step = 0; step < 3000; step++) {
        const labelId = labels[Math.floor(r() * labels.length)]!
        const p = r()
        if (p < 0.3) {
          // A new run (several may share a millisecond: the id breaks the tie, as in the engine).
          if (r() < 0.7) clock += 1 + Math.floor(r() * 5)
          const x = run(labelId, ++n, clock)
          db.set(x.id, x)
          last.note(x)
        } else if (p < 0.55) {
          const mine = [...db.values()].filter((x) => x.labelId === labelId && x.status !== 'succeeded')
          const x = mine[Math.floor(r() * mine.length)]
          if (!x) continue
          const next: Run = { ...x, status: x.status === 'queued' ? 'running' : 'succeeded' }
          db.set(x.id, next)
          last.note(next)
        } else if (p < 0.65 && !inFlight) {
          const limit = 1 + Math.floor(r() * 8)
          inFlight = { labelId, limit, stored: engineList(db, labelId, limit) }
        } else if (p < 0.75 && inFlight) {
          last.keepList(inFlight.labelId, inFlight.limit, inFlight.stored)
          inFlight = null
        } else {
          const limit = 1 + Math.floor(r() * 10)
          const known = last.listed(labelId, limit)
          if (known) {
            fromMemory++
            expect(known).toEqual(engineList(db, labelId, limit))
          }
        }
      }
      expect(fromMemory).toBeGreaterThan(100)
    })
  }
})
