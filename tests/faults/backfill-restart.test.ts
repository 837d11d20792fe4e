import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { api, buyCount, buyEvents, poll, startApp, type AppProcess } from './harness.ts'

/**
 * A backfill survives restarts of the app on its data directory (PGlite on disk, engine in its
 * worker): killed with SIGKILL, then stopped with SIGTERM, each mid-backfill. After each start the
 * job is readable with the days it had done, and it goes on from the next undone day to the end:
 * every day written once, none missing.
 */
describe('a backfill across kill -9 and a graceful restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'labels-backfill-restart-'))
  let app: AppProcess | null = null
  const days = 20

  afterAll(async () => {
    await app?.kill9()
    rmSync(dir, { recursive: true, force: true })
  }, 60_000)

  it('is resumed from its next undone day after each start and ends with every day written once', async () => {
    app = await startApp(dir)
    const ing = await api(app.http, 'admin', '/api/data/events', {
      body: buyEvents('u', 3000),
      type: 'application/x-ndjson',
    })
    expect(ing.status, ing.body).toBe(200)
    const made = await api(app.http, 'editor', '/api/labels', {
      json: { name: 'buys', displayName: 'Buys', dataType: 'number', labelType: 'static', rule: buyCount },
    })
    expect(made.status, made.body).toBe(201)
    const labelId = made.json().id as string
    const lastRun = async () => (await api(app!.http, 'viewer', `/api/labels/${labelId}`)).json().lastRun?.status
    await poll(async () => (await lastRun()) === 'succeeded', 60_000, 'the creation run')

    const r = await api(app.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days } })
    expect(r.status, r.body).toBe(202)
    const id = r.json().backfillId as string
    const get = async () => (await api(app!.http, 'viewer', `/api/backfills/${id}`)).json()
    const doneAtLeast = (n: number) => poll(async () => ((await get()).done >= n ? true : null), 120_000, `${n} days`)

    await doneAtLeast(2)
    await app.kill9()
    app = await startApp(dir)
    const afterKill = await get()
    expect(afterKill).toMatchObject({ id, labelId, days })
    expect(afterKill.done).toBeGreaterThanOrEqual(2)
    expect(afterKill.done).toBeLessThan(days)

    await doneAtLeast(afterKill.done + 2)
    await app.stop()
    app = await startApp(dir)
    const afterStop = await get()
    expect(['queued', 'running']).toContain(afterStop.status)
    expect(afterStop.done).toBeGreaterThanOrEqual(afterKill.done + 2)

    const end = await poll(
      async () => {
        const b = await get()
        return b.status === 'queued' || b.status === 'running' ? null : b
      },
      300_000,
      'the end of the backfill',
    )
    expect(end).toMatchObject({ status: 'succeeded', done: days })
    const items = (await api(app.http, 'viewer', `/api/labels/${labelId}/history`)).json().items as Array<{
      date: string
      users: number
    }>
    const perDay = new Map<string, number>()
    for (const i of items) perDay.set(i.date, (perDay.get(i.date) ?? 0) + i.users)
    // Every past day once (and today, the creation run's), each counting all 3000 buyers.
    expect(perDay.size).toBe(days + 1)
    expect([...perDay.keys()].sort()[0]).toBe(end.from)
    expect(new Set(perDay.values())).toEqual(new Set([3000]))
    // Nothing is left to resume: a new backfill of the label starts.
    const again = await api(app.http, 'editor', `/api/labels/${labelId}/backfill`, { json: { days: 1 } })
    expect(again.status, again.body).toBe(202)
  }, 900_000)
})
