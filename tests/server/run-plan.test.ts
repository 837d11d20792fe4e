import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import type { Definition } from '../../engine/api.ts'
import type { SourceSql } from '../../engine/calc/execute-run.ts'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

/**
 * GET /api/runs/:runId/plan: the statement of a run that took far longer than in the label's
 * previous run, with its plan (engine/calc/run-clock.ts), and the run's `timings` and `slow`.
 * Runs are executed on the server's engine directly, with a stand-in compiler whose statement
 * sleeps when asked to.
 */

const def: Definition = { dataType: 'string', rule: { method: 'metric', event: 'x', measure: { agg: 'count' } } }

describeEachDb('a slow run over HTTP', (kind) => {
  let s: TestServer
  let source: SourceSql = { sql: `SELECT uid, 'a'::text AS value FROM users`, params: [] }
  beforeAll(async () => {
    s = await newServer(kind, {}, { compile: async () => source, slowStatementMs: 150 })
    const users = await s.app.inject({
      method: 'POST',
      url: '/api/data/users',
      payload: ndjson([{ user_id: 'u1', properties: {} }]),
      headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
    })
    expect(users.statusCode).toBe(200)
  })
  afterAll(() => s?.close())

  const calc = async (sleep: number) => {
    source = {
      sql: `SELECT uid, 'a'::text AS value FROM users, pg_sleep($1::float8)`,
      params: [sleep],
    }
    const r = await s.engine.createRun({
      labelId: 'l_plan',
      trigger: 'manual',
      asOf: '2024-03-01T00:00:00Z',
      definition: def,
    })
    return s.engine.executeRun(r.id, { tz: 'UTC' })
  }
  const get = (url: string, role: 'viewer' | null = 'viewer') => s.app.inject({ url, headers: role ? auth(role) : {} })

  it('answers the plan of a slow run, 404 for a run without one or no run, 401 without a token', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const quick = await calc(0)
      // A second, ten times its phase in the quick run before (on a busy machine, that run's 20–40 ms can
      // become 100).
      const slow = await calc(1)
      const run = (await get(`/api/runs/${slow.id}`)).json()
      expect(run.timings.computeMs).toBeGreaterThanOrEqual(995)
      expect(run.slow).toEqual({ phase: 'compute', ms: slow.slow?.ms, usualMs: quick.timings?.computeMs })
      const res = await get(`/api/runs/${slow.id}/plan`)
      expect(res.statusCode).toBe(200)
      const plan = res.json()
      expect(plan).toMatchObject({ ...run.slow, statement: expect.stringContaining('pg_sleep($1::float8)') })
      expect(plan.plan).toMatch(/Function Scan on pg_sleep/)
      const none = await get(`/api/runs/${quick.id}/plan`)
      expect(none.statusCode).toBe(404)
      expect(none.json().error.message).toMatch(/kept no slow statement/)
      expect((await get(`/api/runs/${quick.id}`)).json().slow).toBeUndefined()
      expect((await get('/api/runs/r_nope/plan')).statusCode).toBe(404)
      expect((await get(`/api/runs/${slow.id}/plan`, null)).statusCode).toBe(401)
    } finally {
      warn.mockRestore()
    }
  })
})
