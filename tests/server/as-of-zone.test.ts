import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, createLabel, ndjson, newServer, until, type TestServer } from './helpers.ts'

/**
 * An `asOf` without an offset is wall time in the workspace zone, as every other date the API
 * reads (window dates, import values, the audience's value). It was read as UTC: in New York,
 * `"2026-12-05"` ran as of Dec 4 19:00 local and its history landed on the 4th (black-box
 * audit, 2026-12-06).
 */
describeEachDb('asOf in the workspace zone', (kind) => {
  let s: TestServer
  beforeAll(async () => {
    s = await newServer(kind, { tz: 'America/New_York' })
    const nd = { ...auth('admin'), 'content-type': 'application/x-ndjson' }
    const events = [{ user_id: 'u1', event: 'buy', time: '2026-12-01T12:00:00Z' }]
    expect(
      (await s.app.inject({ method: 'POST', url: '/api/data/events', headers: nd, payload: ndjson(events) }))
        .statusCode,
    ).toBe(200)
    await createLabel(s.app, {
      name: 'buys',
      displayName: 'Buys',
      dataType: 'number',
      rule: { method: 'metric', event: 'buy', measure: { agg: 'count' } },
    })
  })
  afterAll(async () => {
    await s?.close()
  })

  const runAsOf = async (asOf: string) => {
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/labels/buys/calculate',
      headers: auth('editor'),
      payload: { asOf },
    })
    expect(r.statusCode, r.body).toBe(202)
    const id = r.json().runId as string
    return until(async () => {
      const run = (await s.app.inject({ url: `/api/runs/${id}`, headers: auth('viewer') })).json()
      return run.status === 'succeeded' ? (run.asOf as string) : null
    })
  }

  it('reads a date or date-time without an offset in the workspace zone, and one with an offset as written', async () => {
    expect(await runAsOf('2026-12-05')).toBe('2026-12-05T05:00:00.000Z')
    expect(await runAsOf('2026-12-06T10:30:00')).toBe('2026-12-06T15:30:00.000Z')
    expect(await runAsOf('2026-07-06T10:30:00')).toBe('2026-07-06T14:30:00.000Z') // daylight time
    expect(await runAsOf('2026-12-07T10:30:00Z')).toBe('2026-12-07T10:30:00.000Z')
    expect(await runAsOf('2026-12-08T10:30:00+01:00')).toBe('2026-12-08T09:30:00.000Z')
    const days = (await s.app.inject({ url: '/api/labels/buys/history', headers: auth('viewer') }))
      .json()
      .items.map((i: { date: string }) => i.date)
    expect(days).toContain('2026-12-05')
    expect(days).not.toContain('2026-12-04')
  })

  it('refuses a date outside years 0001–9999 once placed in the zone, and one that is not a date', async () => {
    for (const asOf of ['0000-12-31', '0001-01-01T00:00:00+01:00', '10000-01-01', 'yesterday', '2026-02-30']) {
      const r = await s.app.inject({
        method: 'POST',
        url: '/api/labels/buys/calculate',
        headers: auth('editor'),
        payload: { asOf },
      })
      expect(r.statusCode, `${asOf}: ${r.body}`).toBe(400)
      expect(r.json().error.path).toBe('/body/asOf')
    }
  })
})
