import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition, Run } from '../../../engine/api.ts'
import { EngineService } from '../../../engine/service.ts'
import { RunQueue } from '../../../server/runs/run-queue.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

// The queue against the real EngineService: runs really calculate, results really swap.

const count: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
}
const total: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', measure: { agg: 'sum', property: 'amount' } },
}
const broken: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'no_such_event', measure: { agg: 'count' } },
}
const asOf = '2024-04-01T00:00:00.000Z'

describeEachDb('RunQueue with EngineService', (kind) => {
  let db: TestDb
  let engine: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    engine = new EngineService(db)
    await engine.migrate()
    const u = await engine.beginIngest('users', 'csv')
    await engine.pushIngest(u, 'user_id,city\nu1,Paris\nu2,Lyon\nu3,Nice\n')
    expect(await engine.finishIngest(u)).toMatchObject({ committed: true })
    const e = await engine.beginIngest('events', 'ndjson')
    const rows = [
      ['u1', 10],
      ['u1', 20],
      ['u2', 5],
    ].map(([user_id, amount], i) =>
      JSON.stringify({
        user_id,
        event: 'purchase',
        time: `2024-03-0${i + 1}T10:00:00Z`,
        event_id: `e${i}`,
        properties: { amount },
      }),
    )
    await engine.pushIngest(e, rows.join('\n'))
    expect(await engine.finishIngest(e)).toMatchObject({ committed: true })
  })
  afterAll(async () => {
    await db.dispose()
  })

  function setup(defs: Map<string, Definition>, concurrency?: number) {
    const changes: Run[] = []
    const queue = new RunQueue({
      engine,
      tz: 'UTC',
      timeoutMs: 30_000,
      getDefinition: (id) => defs.get(id) ?? null,
      onRunChange: (r) => changes.push(r),
      ...(concurrency ? { concurrency } : {}),
    })
    return { queue, changes, statuses: (id: string) => changes.filter((r) => r.id === id).map((r) => r.status) }
  }

  const values = async (labelId: string) =>
    (await engine.distribution(labelId, 'number', { sort: 'value', order: 'asc' }))?.items.map((i) => [
      i.value,
      i.users,
    ])

  it("calculates a triggered label and reports each status, ending with the engine's own record", async () => {
    const { queue, changes, statuses } = setup(new Map([['q_count', count]]))
    const run = await queue.trigger('q_count', 'manual', asOf)
    await queue.idle()
    expect(statuses(run.id)).toEqual(['queued', 'running', 'succeeded'])
    expect(changes.at(-1)).toEqual(await engine.getRun(run.id))
    expect(changes.at(-1)).toMatchObject({ totalUsers: 3, coveredUsers: 3, asOf })
    expect(await values('q_count')).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ])
  })

  it('coalesces a burst of triggers into two runs; the follow-up calculates the edited definition', async () => {
    const defs = new Map([['q_edit', count]])
    const { queue } = setup(defs)
    const first = queue.trigger('q_edit', 'manual', asOf)
    defs.set('q_edit', total) // edited while the first run is in flight
    const burst = [
      queue.trigger('q_edit', 'update', asOf),
      queue.trigger('q_edit', 'manual', asOf),
      queue.trigger('q_edit', 'manual', asOf),
    ]
    const [r1, ...rest] = await Promise.all([first, ...burst])
    await queue.idle()
    expect(new Set(rest.map((r) => r.id)).size).toBe(1)
    const runs = await engine.listRuns('q_edit')
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    expect(runs.map((r) => r.id).sort()).toEqual([r1!.id, rest[0]!.id].sort())
    expect(await values('q_edit')).toEqual([
      [0, 1],
      [5, 1],
      [30, 1],
    ]) // sums: the edit won
  })

  it("a follow-up is stored after the run it follows, even when that one's insert was slower: newest first is the run whose results stand", async () => {
    const defs = new Map([['q_slow', count]])
    // The first insert waits (as behind a new pooled connection to PostgreSQL); the follow-up's does not.
    let calls = 0
    const slowFirst = Object.create(engine) as EngineService
    slowFirst.createRun = async (input) => {
      if (++calls === 1) await new Promise((r) => setTimeout(r, 150))
      return engine.createRun(input)
    }
    const queue = new RunQueue({
      engine: slowFirst,
      tz: 'UTC',
      timeoutMs: 30_000,
      getDefinition: (id) => defs.get(id) ?? null,
      onRunChange: () => {},
    })
    const first = queue.trigger('q_slow', 'manual', asOf)
    defs.set('q_slow', total)
    const follow = queue.trigger('q_slow', 'update', asOf)
    const [r1, r2] = await Promise.all([first, follow])
    await queue.idle()
    expect(r1!.id).not.toBe(r2!.id)
    const runs = await engine.listRuns('q_slow')
    expect(runs.map((r) => r.id)).toEqual([r2!.id, r1!.id])
    expect((await engine.distribution('q_slow', 'number', {}))?.runId).toBe(runs[0]!.id)
    expect(await values('q_slow')).toEqual([
      [0, 1],
      [5, 1],
      [30, 1],
    ])
  })

  it('a queued follow-up calculates the definition as it starts, after every edit made while it waited', async () => {
    const defs = new Map([['q_twice', count]])
    const { queue } = setup(defs)
    const first = await queue.trigger('q_twice', 'manual', asOf)
    defs.set('q_twice', broken) // first edit: creates the follow-up while the first run is running
    const follow = await queue.trigger('q_twice', 'update', asOf)
    defs.set('q_twice', total) // second edit, coalesced into the same follow-up
    expect((await queue.trigger('q_twice', 'update', asOf)).id).toBe(follow.id)
    await queue.idle()
    expect((await engine.getRun(first.id))?.status).toBe('succeeded')
    expect((await engine.getRun(follow.id))?.status).toBe('succeeded')
    expect(await values('q_twice')).toEqual([
      [0, 1],
      [5, 1],
      [30, 1],
    ])
  })

  it("exclusive work waits for the label's running run and holds the runs triggered meanwhile", async () => {
    const { queue, statuses } = setup(new Map([['q_excl', count]]))
    const order: string[] = []
    const run = await queue.trigger('q_excl', 'manual', asOf)
    const work = queue.exclusive('q_excl', async () => {
      order.push(`exclusive after ${statuses(run.id).at(-1)}`)
      const during = queue.trigger('q_excl', 'manual', asOf)
      await new Promise((r) => setTimeout(r, 50))
      order.push(`exclusive ends; next run ${statuses((await during).id).join('>')}`)
    })
    await work
    await queue.idle()
    expect(order).toEqual(['exclusive after succeeded', 'exclusive ends; next run queued'])
  })

  it('reports a failed run with its error, keeps the previous results, and runs what follows', async () => {
    const defs = new Map([
      ['q_fail', count],
      ['q_other', total],
    ])
    const { queue, statuses, changes } = setup(defs)
    await queue.trigger('q_fail', 'manual', asOf)
    await queue.idle()
    defs.set('q_fail', broken)
    const bad = await queue.trigger('q_fail', 'update', asOf)
    const other = await queue.trigger('q_other', 'manual', asOf)
    await queue.idle()
    expect(statuses(bad.id)).toEqual(['queued', 'running', 'failed'])
    expect(changes.find((r) => r.id === bad.id && r.status === 'failed')?.error).toMatch(/no_such_event/)
    expect(await values('q_fail')).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ])
    expect(statuses(other.id)).toEqual(['queued', 'running', 'succeeded'])
  })

  it('runs several labels under a higher concurrency limit, all to success', async () => {
    const defs = new Map([
      ['q_a', count],
      ['q_b', total],
      ['q_c', count],
    ])
    const { queue, statuses } = setup(defs, 3)
    const runs = await Promise.all([...defs.keys()].map((id) => queue.trigger(id, 'manual', asOf)))
    await queue.idle()
    for (const r of runs) expect(statuses(r.id)).toEqual(['queued', 'running', 'succeeded'])
  })

  it('close lets the running run finish and then refuses triggers', async () => {
    const { queue, statuses } = setup(new Map([['q_close', count]]))
    const run = await queue.trigger('q_close', 'manual', asOf)
    expect(statuses(run.id)).toEqual(['queued', 'running']) // an idle queue starts it at once
    await queue.close()
    await expect(queue.trigger('q_close', 'manual')).rejects.toMatchObject({ code: 'unavailable' })
    expect((await engine.getRun(run.id))?.status).toBe('succeeded')
    expect(statuses(run.id)).toEqual(['queued', 'running', 'succeeded'])
  })
})
