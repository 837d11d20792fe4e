import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Definition } from '../../../engine/api.ts'
import { EngineService } from '../../../engine/service.ts'
import { makeRng } from '../../../shared/prng.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'

const tz = 'Asia/Tokyo'
const categories = ['shoes', 'bags', 'hats', 'socks']

/** 80 users with purchases over March 2024, seeded. */
function events(): string {
  const rng = makeRng(11)
  const lines: string[] = []
  for (let u = 0; u < 80; u++) {
    const n = rng.int(0, 12)
    for (let k = 0; k < n; k++) {
      const day = rng.int(1, 28)
      const hour = rng.int(0, 23)
      lines.push(
        JSON.stringify({
          user_id: `u${u}`,
          event: 'purchase',
          time: `2024-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:30:00Z`,
          event_id: `e${u}-${k}`,
          properties: { category: categories[rng.int(0, 3)], amount: rng.int(1, 400) },
        }),
      )
    }
  }
  return lines.join('\n')
}

const sum7: Definition = {
  dataType: 'number',
  rule: { method: 'metric', event: 'purchase', window: { lastDays: 7 }, measure: { agg: 'sum', property: 'amount' } },
}
const favourite: Definition = {
  dataType: 'string',
  rule: { method: 'preference', event: 'purchase', window: { lastDays: 5 }, property: 'category' },
}

/** The 10 days before 2024-03-25, newest first, as a backfill of 10 days on 2024-03-25 covers them. */
const days = Array.from({ length: 10 }, (_, k) => `2024-03-${String(24 - k).padStart(2, '0')}`)
const nextDay = (d: string) => new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

describeEachDb('backfill', (kind) => {
  let db: TestDb
  let svc: EngineService
  beforeAll(async () => {
    db = await newDb(kind)
    svc = new EngineService(db)
    await svc.migrate()
    const u = await svc.beginIngest('users', 'csv')
    await svc.pushIngest(u, `user_id\n${Array.from({ length: 80 }, (_, i) => `u${i}`).join('\n')}\n`)
    expect(await svc.finishIngest(u)).toMatchObject({ committed: true })
    const e = await svc.beginIngest('events', 'ndjson')
    await svc.pushIngest(e, events())
    expect(await svc.finishIngest(e)).toMatchObject({ committed: true })
  })
  afterAll(() => db.dispose())

  const run = async (labelId: string, definition: Definition, asOf: string) => {
    const r = await svc.createRun({ labelId, trigger: 'manual', asOf, definition })
    const done = await svc.executeRun(r.id, { tz, timeoutMs: 30_000 })
    expect(done.status, done.error).toBe('succeeded')
    return done
  }

  it.each([
    ['a number label', sum7],
    ['a string label', favourite],
  ])('each backfilled day of %s holds the distribution of a run as of the end of that day', async (_, def) => {
    const L = `bf_${def.dataType}`
    const current = await run(L, def, '2024-03-25T03:00:00Z')
    const before = await svc.distribution(L, def.dataType, {})
    for (const date of days) await svc.backfillDay({ labelId: L, definition: def, date, tz, jobId: 'job1' })
    // Only history was written: the label's results are those of its run.
    expect(await svc.distribution(L, def.dataType, {})).toEqual(before)
    expect((await svc.listRuns(L)).map((r) => r.id)).toEqual([current.id])
    const h = await svc.history(L, {})
    expect([...new Set(h.items.map((i) => i.date))]).toEqual([...days].reverse().concat('2024-03-25'))
    const boundaries = (await svc.historyBuckets(L, def.dataType)).buckets?.boundaries
    if (def.dataType === 'number') expect(boundaries?.length).toBeGreaterThan(2)
    const perDay = days.map((date) => JSON.stringify(h.items.filter((i) => i.date === date).map((i) => i.users)))
    expect(new Set(perDay).size, 'the windows move with the day').toBeGreaterThan(3)
    for (const date of days) {
      // The reference: a run of the label as of the next midnight in the workspace zone.
      const ref = `ref_${def.dataType}_${date}`
      const done = await run(ref, def, new Date(`${nextDay(date)}T00:00:00+09:00`).toISOString())
      const d = await svc.distribution(ref, def.dataType, {
        sort: 'value',
        order: 'asc',
        ...(boundaries ? { boundaries } : {}),
      })
      const expected = (d?.items ?? []).map((i) => [String(i.value), i.users, i.proportion])
      const got = h.items.filter((i) => i.date === date).map((i) => [i.value, i.users, i.proportion])
      const sort = (x: unknown[][]) => [...x].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))
      expect(sort(got), date).toEqual(sort(expected))
      expect(got.length, date).toBeGreaterThan(0)
      expect(done.totalUsers).toBe(80)
    }
  })

  it('refuses an import label: its values have no past', async () => {
    await expect(
      svc.backfillDay({
        labelId: 'imp',
        definition: { dataType: 'string', rule: { method: 'import' } },
        date: '2024-03-20',
        tz,
        jobId: 'j',
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/no past/) })
  })

  it('stores a job and counts each day in the day’s transaction: never twice, never after a cancel', async () => {
    const L = 'bf_job'
    const job = { id: 'bf_stored', labelId: L, labelName: 'job', days: 3, from: days[2]!, to: days[0]!, nodeId: 'n1' }
    expect(await svc.createBackfill(job)).toMatchObject({
      id: job.id,
      status: 'queued',
      done: 0,
      from: days[2],
      to: days[0],
    })
    await expect(svc.createBackfill({ ...job, id: 'bf_second' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already queued \(bf_stored\)/),
    })
    expect(await svc.updateBackfill(job.id, { status: 'running' })).toMatchObject({ status: 'running' })
    const step = (k: number) =>
      svc.backfillDay({ labelId: L, definition: sum7, date: days[k]!, tz, jobId: job.id, step: k })
    await step(0)
    expect(await svc.getBackfill(job.id)).toMatchObject({ done: 1 })
    // The same day again (a second executor): refused, and nothing of it is written.
    await expect(step(0)).rejects.toMatchObject({ code: 'conflict' })
    expect(await svc.getBackfill(job.id)).toMatchObject({ done: 1 })
    expect(await svc.cancelBackfill(job.id)).toMatchObject({ status: 'cancelled', done: 1 })
    await expect(step(1)).rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/cancelled/) })
    expect([...new Set((await svc.history(L, {})).items.map((i) => i.date))]).toEqual([days[0]])
    expect(await svc.updateBackfill(job.id, { status: 'succeeded' })).toBeNull()
    await expect(svc.cancelBackfill(job.id)).rejects.toMatchObject({ code: 'conflict' })
    await expect(svc.cancelBackfill('bf_none')).rejects.toMatchObject({ code: 'not_found' })
    expect((await svc.listBackfills(L)).map((b) => b.status)).toEqual(['cancelled'])
    expect(await svc.claimOpenBackfills('n2')).toEqual([])
  })
})
