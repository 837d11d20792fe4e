import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINE_PG_SETTINGS, openPostgres, parsePgSettings } from '../../../engine/adapters/pg.ts'
import type { Definition, Run } from '../../../engine/api.ts'
import { EngineService } from '../../../engine/service.ts'
import { startCluster, type Cluster } from '../../../server/cluster/index.ts'
import { RunQueue } from '../../../server/runs/run-queue.ts'
import { newSchemaUrl, pgUrl } from './schema.ts'

const count: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
}

/**
 * Two server processes' run queues on one PostgreSQL schema, in one test process: each its own
 * engine pool, cluster bus and run claims, as server/plugins/calc.ts wires them. A label's runs
 * created on two processes execute in creation order, whichever process takes the label's lock first.
 */
describe.skipIf(!pgUrl)('runs of one label queued by two processes', () => {
  let schema: Awaited<ReturnType<typeof newSchemaUrl>>
  const engines: EngineService[] = []
  const clusters: Cluster[] = []

  beforeAll(async () => {
    schema = await newSchemaUrl()
    for (let i = 0; i < 2; i++) {
      const db = await openPostgres(schema.url, { max: 4, settings: parsePgSettings(ENGINE_PG_SETTINGS) })
      const engine = new EngineService(db)
      await engine.migrate()
      engines.push(engine)
      clusters.push(await startCluster(schema.url, { concurrency: 1, leaseMs: 60_000 }))
    }
    const engine = engines[0]!
    const u = await engine.beginIngest('users', 'csv')
    await engine.pushIngest(u, 'user_id\nu1\nu2\nu3\n')
    expect(await engine.finishIngest(u)).toMatchObject({ committed: true })
    const e = await engine.beginIngest('events', 'ndjson')
    const events = [
      ['u1', '2024-03-01'],
      ['u1', '2024-03-02'],
      ['u2', '2024-03-03'],
    ].map(([user_id, day], i) =>
      JSON.stringify({ user_id, event: 'purchase', time: `${day}T10:00:00Z`, event_id: `e${i}` }),
    )
    await engine.pushIngest(e, events.join('\n'))
    expect(await engine.finishIngest(e)).toMatchObject({ committed: true })
  }, 60_000)

  afterAll(async () => {
    for (const c of clusters) await c.close().catch(() => {})
    for (const e of engines) await e.close().catch(() => {})
    await schema?.dispose()
  })

  /** A process's queue; `gate` holds its runs before they ask for the label's lock. */
  const queueOf = (i: number, gate: Promise<void>, reports: Run[], failing = false) => {
    const engine = engines[i]!
    const claims = clusters[i]!.runs
    return new RunQueue({
      engine,
      tz: 'UTC',
      timeoutMs: 60_000,
      getDefinition: () => count,
      onRunChange: (r) => void reports.push(r),
      serialize: async (id, fn) => {
        await gate
        return claims.serialize(id, fn)
      },
      queuedThrough: failing
        ? () => Promise.reject(new Error('connection lost'))
        : (run) => claims.queuedThrough(run, (id) => engine.getRun(id)),
    })
  }

  it('a run created first on one process executes first, even when a newer run on another takes the lock first', async () => {
    let open = () => {}
    const gate = new Promise<void>((r) => (open = r))
    const fromA: Run[] = []
    const fromB: Run[] = []
    const a = queueOf(0, gate, fromA)
    const b = queueOf(1, Promise.resolve(), fromB)
    // A's run is created first (as of 2024-03-02 noon: u1 has 2 purchases, u2 and u3 none), B's
    // after it (as of April: u1 2, u2 1, u3 none). A's executor is held, so B takes the label's lock first.
    const older = await a.trigger('l_order', 'manual', '2024-03-02T12:00:00.000Z')
    const newer = await b.trigger('l_order', 'manual', '2024-04-01T00:00:00.000Z')
    await b.idle()
    open()
    await a.idle()

    const [r1, r2] = [await engines[0]!.getRun(older.id), await engines[0]!.getRun(newer.id)]
    expect(r1).toMatchObject({ status: 'succeeded' })
    expect(r2).toMatchObject({ status: 'succeeded' })
    // Executed in creation order: the older one ended before the newer one started.
    expect(Date.parse(r1!.finishedAt!)).toBeLessThanOrEqual(Date.parse(r2!.startedAt!))
    // The results that stand are the newest run's, the first one listed.
    const d = await engines[1]!.distribution('l_order', 'number', { sort: 'value', order: 'asc' })
    expect(d?.items.map((x) => [x.value, x.users])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ])
    expect((await engines[0]!.listRuns('l_order')).map((r) => r.id)).toEqual([newer.id, older.id])
    // B executed both; A, whose run was done when it got the lock, reported it as stored and
    // never announced it running again.
    expect(fromB.filter((r) => r.id === older.id).map((r) => r.status)).toEqual(['running', 'succeeded'])
    expect(fromA.filter((r) => r.id === older.id).map((r) => r.status)).toEqual(['queued', 'succeeded'])
    await a.close()
    await b.close()
  }, 60_000)

  it('a run that shows up only after a newer one ran is failed "superseded", and the newer results stand', async () => {
    let open = () => {}
    const gate = new Promise<void>((r) => (open = r))
    const fromA: Run[] = []
    const a = queueOf(0, gate, fromA)
    const b = queueOf(1, Promise.resolve(), [])
    const newer = await b.trigger('l_late', 'manual', '2024-04-01T00:00:00.000Z')
    await b.idle()
    // A run whose row other processes saw only now (committed late), though created before it.
    const older = await a.trigger('l_late', 'manual', '2024-03-02T12:00:00.000Z')
    // And one older still, left queued by a process that died (no queue holds it here).
    const orphan = await engines[1]!.createRun({
      labelId: 'l_late',
      trigger: 'manual',
      asOf: '2024-03-01T12:00:00.000Z',
      definition: count,
    })
    const db = await openPostgres(schema.url, { max: 1 })
    await db.query(
      `UPDATE runs SET created_at = (SELECT created_at FROM runs WHERE id = $3) - interval '1 second' * $2 WHERE id = $1`,
      [older.id, 1, newer.id],
    )
    await db.query(
      `UPDATE runs SET created_at = (SELECT created_at FROM runs WHERE id = $3) - interval '1 second' * $2 WHERE id = $1`,
      [orphan.id, 2, newer.id],
    )
    await db.close()
    open()
    await a.idle()
    const r1 = await engines[0]!.getRun(older.id)
    expect(r1).toMatchObject({ status: 'failed' })
    expect(r1!.error).toContain(`superseded: run ${newer.id}`)
    expect(r1!.startedAt).toBeNull()
    expect(fromA.filter((r) => r.id === older.id).map((r) => r.status)).toEqual(['queued', 'failed'])
    // The orphan, older still, is failed the same way and reported by the process that found it.
    expect(await engines[0]!.getRun(orphan.id)).toMatchObject({ status: 'failed', startedAt: null })
    expect(fromA.filter((r) => r.id === orphan.id).map((r) => r.status)).toEqual(['failed'])
    const d = await engines[1]!.distribution('l_late', 'number', { sort: 'value', order: 'asc' })
    expect(d?.items.map((x) => [x.value, x.users])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ])
    expect((await engines[0]!.listRuns('l_late')).map((r) => r.status)).toEqual(['succeeded', 'failed', 'failed'])
    await a.close()
    await b.close()
  }, 60_000)

  it("a run whose label's queued runs can't be read executes all the same", async () => {
    const reports: Run[] = []
    const q = queueOf(0, Promise.resolve(), reports, true)
    const run = await q.trigger('l_unread', 'manual', '2024-04-01T00:00:00.000Z')
    await q.idle()
    expect(reports.filter((r) => r.id === run.id).map((r) => r.status)).toEqual(['queued', 'running', 'succeeded'])
    expect(await engines[1]!.getRun(run.id)).toMatchObject({ status: 'succeeded' })
    await q.close()
  }, 60_000)
})
