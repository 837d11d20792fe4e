import { describe, expect, it } from 'vitest'
import type { Definition, Run } from '../../../engine/api.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { RunQueue } from '../../../server/runs/run-queue.ts'
import { FakeRunEngine } from './fake-engine.ts'

// Queue-only logic (coalescing, ordering, concurrency, shutdown) against FakeRunEngine, which
// lets each test decide when a run ends; see fake-engine.ts for why that is a fake.

const metric = (event: string): Definition => ({
  dataType: 'number',
  rule: { method: 'metric', event, measure: { agg: 'count' } },
})

function setup(opts: { concurrency?: number; timeoutMs?: number } = {}) {
  const engine = new FakeRunEngine()
  const defs = new Map<string, Definition>([
    ['a', metric('purchase')],
    ['b', metric('visit')],
    ['c', metric('click')],
  ])
  const changes: Run[] = []
  const queue = new RunQueue({
    engine,
    tz: 'Europe/Berlin',
    getDefinition: (id) => defs.get(id) ?? null,
    onRunChange: (run) => changes.push(run),
    now: () => new Date('2024-05-01T08:00:00Z'),
    ...opts,
  })
  const statuses = (runId: string) => changes.filter((r) => r.id === runId).map((r) => r.status)
  return { engine, defs, changes, queue, statuses }
}

describe('RunQueue', () => {
  it('a run another process claimed and finished is reported as stored, not left "running"', async () => {
    const { engine, queue, statuses, changes } = setup()
    // Several processes on one database: the claim fails because another process ended the run.
    engine.executeRun = async (runId: string) => {
      Object.assign(engine.runs.get(runId)!, { status: 'succeeded', finishedAt: '2024-05-01T08:00:01.000Z' })
      throw new LabelsError('conflict', `run ${runId} is not queued`)
    }
    const run = await queue.trigger('a', 'manual')
    await queue.idle()
    expect(statuses(run.id)).toEqual(['queued', 'running', 'succeeded'])
    expect(changes.at(-1)).toMatchObject({ id: run.id, finishedAt: '2024-05-01T08:00:01.000Z' })
  })

  it('close() refuses an exclusive() that waits for a running run instead of leaving it pending', async () => {
    const { engine, queue } = setup()
    const run = await queue.trigger('a', 'manual')
    await engine.started(run.id)
    let ran = false
    const waiting = queue.exclusive('a', async () => {
      ran = true
    })
    const settled = waiting.then(
      () => 'resolved',
      (e: Error) => e.message,
    )
    await new Promise((r) => setTimeout(r, 10))
    await queue.close({ abort: true })
    // A never-settling promise would time the test out; a race keeps the failure readable.
    const outcome = await Promise.race([settled, new Promise((r) => setTimeout(() => r('still pending'), 2000))])
    expect(outcome).toMatch(/shutting down/)
    expect(ran).toBe(false)
    engine.finish(run.id)
  })

  it('runs a triggered label and reports queued, running, then succeeded', async () => {
    const { engine, queue, statuses, changes } = setup({ timeoutMs: 5000 })
    const run = await queue.trigger('a', 'manual')
    expect(run).toMatchObject({ labelId: 'a', status: 'queued', trigger: 'manual', asOf: '2024-05-01T08:00:00.000Z' })
    await engine.started(run.id)
    expect(statuses(run.id)).toEqual(['queued', 'running'])
    engine.finish(run.id)
    await queue.idle()
    expect(statuses(run.id)).toEqual(['queued', 'running', 'succeeded'])
    expect(changes.at(-1)).toMatchObject({ totalUsers: 10, coveredUsers: 7 })
    expect(engine.executed).toEqual([{ runId: run.id, tz: 'Europe/Berlin', timeoutMs: 5000 }])
  })

  it('passes an explicit asOf through', async () => {
    const { engine, queue } = setup()
    engine.manual = false
    const run = await queue.trigger('a', 'manual', '2023-01-01T00:00:00.000Z')
    await queue.idle()
    expect(run.asOf).toBe('2023-01-01T00:00:00.000Z')
  })

  it('coalesces triggers during a run into exactly one more run, created at the first of them', async () => {
    const { engine, queue, defs } = setup()
    const first = await queue.trigger('a', 'manual')
    await engine.started(first.id)
    defs.set('a', metric('refund')) // an edit while the first run runs
    const more = await Promise.all([
      queue.trigger('a', 'update'),
      queue.trigger('a', 'manual'),
      queue.trigger('a', 'schedule'),
    ])
    expect(new Set(more.map((r) => r.id)).size).toBe(1)
    const second = more[0]!
    expect(second.id).not.toBe(first.id)
    expect(second.trigger).toBe('update')
    // The running run keeps the definition it started with; the next one has the edit.
    expect(engine.runs.get(first.id)!.definition).toEqual(metric('purchase'))
    expect(engine.runs.get(second.id)!.definition).toEqual(metric('refund'))
    expect(engine.executed.map((e) => e.runId)).toEqual([first.id])
    engine.finish(first.id)
    await engine.started(second.id)
    engine.finish(second.id)
    await queue.idle()
    expect(engine.executed.map((e) => e.runId)).toEqual([first.id, second.id])
    expect(engine.runs.size).toBe(2)
  })

  it('a trigger while the follow-up run is running queues a new follow-up', async () => {
    const { engine, queue } = setup()
    const r1 = await queue.trigger('a', 'manual')
    await engine.started(r1.id)
    const r2 = await queue.trigger('a', 'manual')
    engine.finish(r1.id)
    await engine.started(r2.id)
    const r3 = await queue.trigger('a', 'manual')
    expect(r3.id).not.toBe(r2.id)
    engine.finish(r2.id)
    await engine.started(r3.id)
    engine.finish(r3.id)
    await queue.idle()
    expect(engine.executed.map((e) => e.runId)).toEqual([r1.id, r2.id, r3.id])
  })

  it('triggers racing before the first run is even created still make only two runs', async () => {
    const { engine, queue } = setup()
    engine.manual = false
    const runs = await Promise.all(Array.from({ length: 5 }, () => queue.trigger('a', 'manual')))
    await queue.idle()
    expect(new Set(runs.map((r) => r.id)).size).toBe(2)
    expect(engine.executed).toHaveLength(2)
  })

  it('holds the global concurrency limit, first come first served across labels', async () => {
    const { engine, queue } = setup()
    const a = await queue.trigger('a', 'manual')
    const b = await queue.trigger('b', 'manual')
    const c = await queue.trigger('c', 'manual')
    await engine.started(a.id)
    expect(engine.inFlight.size).toBe(1)
    engine.finish(a.id)
    await engine.started(b.id)
    engine.finish(b.id)
    await engine.started(c.id)
    engine.finish(c.id)
    await queue.idle()
    expect(engine.executed.map((e) => e.runId)).toEqual([a.id, b.id, c.id])
    expect(engine.maxInFlight).toBe(1)
  })

  it('runs different labels in parallel up to a higher limit, never one label twice at once', async () => {
    const { engine, queue } = setup({ concurrency: 2 })
    const a = await queue.trigger('a', 'manual')
    const b = await queue.trigger('b', 'manual')
    const a2 = await queue.trigger('a', 'manual')
    await engine.started(a.id)
    await engine.started(b.id)
    expect([...engine.inFlight].sort()).toEqual([a.id, b.id].sort())
    engine.finish(b.id)
    await new Promise((r) => setTimeout(r, 20))
    expect(engine.inFlight.has(a2.id)).toBe(false) // a's follow-up waits for a itself
    engine.finish(a.id)
    await engine.started(a2.id)
    engine.finish(a2.id)
    await queue.idle()
    expect(engine.maxInFlight).toBe(2)
  })

  it('reports a failed run and moves on to the next one', async () => {
    const { engine, queue, statuses } = setup()
    const a = await queue.trigger('a', 'manual')
    const b = await queue.trigger('b', 'manual')
    await engine.started(a.id)
    engine.finish(a.id, 'failed')
    await engine.started(b.id)
    engine.finish(b.id)
    await queue.idle()
    expect(statuses(a.id)).toEqual(['queued', 'running', 'failed'])
    expect(statuses(b.id)).toEqual(['queued', 'running', 'succeeded'])
  })

  it('turns an engine that throws mid-run into a reported failure and frees the label', async () => {
    const { engine, queue, changes } = setup()
    const a = await queue.trigger('a', 'manual')
    await engine.started(a.id)
    engine.finish(a.id, 'crash')
    await queue.idle()
    expect(changes.at(-1)).toMatchObject({ id: a.id, status: 'failed', error: 'connection lost' })
    engine.manual = false
    const again = await queue.trigger('a', 'manual')
    await queue.idle()
    expect(again.id).not.toBe(a.id)
    expect(engine.runs.get(again.id)!.status).toBe('succeeded')
  })

  it('rejects a trigger for an unknown label with not_found and stays usable', async () => {
    const { engine, queue } = setup()
    engine.manual = false
    await expect(queue.trigger('zzz', 'manual')).rejects.toMatchObject({ code: 'not_found' })
    await queue.idle()
    expect(queue.busyLabels()).toEqual([])
    await queue.trigger('a', 'manual')
    await queue.idle()
    expect(engine.executed).toHaveLength(1)
  })

  it('a failed follow-up creation does not swallow later triggers', async () => {
    const { engine, queue, defs } = setup()
    const a = await queue.trigger('a', 'manual')
    await engine.started(a.id)
    const saved = defs.get('a')!
    defs.delete('a')
    await expect(queue.trigger('a', 'manual')).rejects.toMatchObject({ code: 'not_found' })
    defs.set('a', saved)
    const next = await queue.trigger('a', 'manual')
    engine.finish(a.id)
    await engine.started(next.id)
    engine.finish(next.id)
    await queue.idle()
    expect(engine.executed.map((e) => e.runId)).toEqual([a.id, next.id])
  })

  it('a throwing listener does not wedge the queue', async () => {
    const engine = new FakeRunEngine()
    engine.manual = false
    const queue = new RunQueue({
      engine,
      tz: 'UTC',
      getDefinition: () => metric('x'),
      onRunChange: () => {
        throw new Error('listener bug')
      },
    })
    await queue.trigger('a', 'manual')
    await queue.trigger('b', 'manual')
    await queue.idle()
    expect(engine.executed).toHaveLength(2)
  })

  it('close waits for the running run, starts nothing queued, and refuses new triggers', async () => {
    const { engine, queue, statuses } = setup()
    const a = await queue.trigger('a', 'manual')
    const b = await queue.trigger('b', 'manual')
    await engine.started(a.id)
    let closed = false
    const closing = queue.close().then(() => {
      closed = true
    })
    await expect(queue.trigger('c', 'manual')).rejects.toMatchObject({ code: 'unavailable' })
    await new Promise((r) => setTimeout(r, 20))
    expect(closed).toBe(false)
    engine.finish(a.id)
    await closing
    expect(statuses(a.id)).toEqual(['queued', 'running', 'succeeded'])
    expect(engine.executed.map((e) => e.runId)).toEqual([a.id])
    expect(engine.runs.get(b.id)!.status).toBe('queued') // failInterruptedRuns settles it at next start
    await queue.idle()
  })

  it('close with abort returns without waiting; the aborted run still ends reported', async () => {
    const { engine, queue, statuses } = setup()
    const a = await queue.trigger('a', 'manual')
    await engine.started(a.id)
    await queue.close({ abort: true })
    expect(engine.inFlight.has(a.id)).toBe(true)
    engine.finish(a.id, 'crash') // what closing the engine under it looks like
    await queue.idle()
    expect(statuses(a.id)).toEqual(['queued', 'running', 'failed'])
  })
})

describe('RunQueue with a journal (runs acknowledged before they are stored)', () => {
  it('answers at once under the id the row gets, forgets the run once stored, and keeps one whose row failed', async () => {
    const recorded: string[] = []
    const settled: string[] = []
    const { engine, queue, statuses } = (() => {
      const engine = new FakeRunEngine()
      const changes: Run[] = []
      const queue = new RunQueue({
        engine,
        tz: 'UTC',
        getDefinition: (id) => (id === 'gone' ? null : metric('purchase')),
        onRunChange: (run) => changes.push(run),
        journal: { record: (r) => void recorded.push(r.id), settled: (id) => void settled.push(id) },
      })
      return { engine, queue, statuses: (id: string) => changes.filter((r) => r.id === id).map((r) => r.status) }
    })()
    const run = await queue.trigger('a', 'manual')
    expect(recorded).toEqual([run.id])
    await engine.started(run.id)
    expect(engine.runs.get(run.id)).toBeDefined() // stored under the acknowledged id
    expect(settled).toEqual([run.id])
    await engine.finish(run.id)
    await queue.idle()
    // The database refuses the next row: reported failed, kept in the journal for the next start.
    engine.createRun = async () => {
      throw new Error('disk full')
    }
    const lost = await queue.trigger('b', 'manual')
    await queue.idle()
    expect(statuses(lost.id)).toEqual(['queued', 'failed'])
    expect(recorded).toEqual([run.id, lost.id])
    expect(settled).toEqual([run.id])
    // A label that doesn't exist is refused before anything is recorded.
    await expect(queue.trigger('gone', 'manual')).rejects.toMatchObject({ code: 'not_found' })
    expect(recorded).toHaveLength(2)
  })
})
