import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { api, buyCount, buyEvents, poll, startApp, type AppProcess } from './harness.ts'

/**
 * Server down across three scheduled slots: the whole app in a child process on a data directory,
 * killed with SIGKILL, started again with its scheduler clock three days later
 * (FAULT_CLOCK_OFFSET_MS; the scheduler's Clock seam, server/runs/scheduler.ts). A daily label
 * missed three slots: exactly one catch-up run, as of the restart; a second restart at the same
 * clock runs nothing more. The unit version against a fake clock is tests/server/runs/scheduler.test.ts.
 */
const DAY = 86_400_000
let app: AppProcess | null = null
const dir = mkdtempSync(join(tmpdir(), 'labels-downtime-'))
afterAll(async () => {
  await app?.kill9()
  rmSync(dir, { recursive: true, force: true })
})

interface Run {
  id: string
  status: string
  trigger: string
  asOf: string
}
const runsOf = async (a: AppProcess) =>
  (await api(a.http, 'viewer', '/api/labels/daily_buys/runs')).json().runs as Run[]
const settled = (a: AppProcess, n: number) =>
  poll(
    async () => {
      const runs = await runsOf(a)
      return runs.length >= n && runs.every((r) => r.status === 'succeeded' || r.status === 'failed') ? runs : null
    },
    120_000,
    `${n} finished runs`,
  )

// Three steps sharing the data directory (each start of the app takes a while on a busy machine).
let at = ''
let after: Run[] = []

it('a daily label is created and calculated, then the server is killed', async () => {
  app = await startApp(dir)
  expect(
    (await api(app.http, 'admin', '/api/data/events', { body: buyEvents('s', 500), type: 'application/x-ndjson' }))
      .status,
  ).toBe(200)
  // The next daily slot is an hour from now, so 72 h later exactly three slots have passed.
  at = new Date(Date.now() + 3_600_000).toISOString().slice(11, 16)
  const c = await api(app.http, 'editor', '/api/labels', {
    json: {
      name: 'daily_buys',
      displayName: 'Daily buys',
      dataType: 'number',
      labelType: 'dynamic',
      schedule: { kind: 'daily', at },
      rule: buyCount,
    },
  })
  expect(c.status, c.body).toBe(201)
  const first = await settled(app, 1)
  expect(first.map((r) => r.trigger)).toEqual(['create'])
  await app.kill9()
})

it('started three days (three slots) later: exactly one catch-up run, as of the restart', async () => {
  const t0 = Date.now()
  app = await startApp(dir, { FAULT_CLOCK_OFFSET_MS: String(3 * DAY) })
  after = await settled(app, 2)
  const catchups = after.filter((r) => r.trigger === 'catchup')
  expect(after.map((r) => r.trigger).sort()).toEqual(['catchup', 'create'])
  expect(catchups[0]!.status).toBe('succeeded')
  // As of the restart (on the shifted clock), not of any missed slot.
  const asOf = Date.parse(catchups[0]!.asOf)
  expect(asOf).toBeGreaterThanOrEqual(t0 + 3 * DAY - 1000)
  expect(asOf).toBeLessThanOrEqual(Date.now() + 3 * DAY)
  await app.kill9()
})

it('a second restart at that time runs nothing more', async () => {
  expect(after).toHaveLength(2)
  app = await startApp(dir, { FAULT_CLOCK_OFFSET_MS: String(3 * DAY + 60_000) })
  // Anything the restart would queue is queued before it listens (onReady); read twice to be sure.
  const again = await settled(app, 2)
  expect(again.map((r) => r.id).sort()).toEqual(after.map((r) => r.id).sort())
  expect((await api(app.http, 'viewer', '/api/labels/daily_buys')).json().lastRun.trigger).toBe('catchup')
  console.log(
    `[downtime] daily label at ${at} UTC, server down 72 h (3 slots): runs after restart ${JSON.stringify(after.map((r) => r.trigger))}, after a second restart ${again.length} runs`,
  )
})
