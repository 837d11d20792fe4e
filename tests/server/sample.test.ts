import { afterAll, beforeAll, expect, it } from 'vitest'
import { loadSampleNdjson } from '../../engine/read/sample-load.ts'
import { makeRng } from '../../shared/prng.ts'
import { describeEachDb, newDb } from '../helpers/db.ts'
import { EngineService } from '../../engine/service.ts'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

/** 40 users, their views and purchases (seeded), some only known through events. */
function dataset() {
  const rng = makeRng(23)
  const users = Array.from({ length: 40 }, (_, i) => ({
    user_id: `c${i}`,
    properties: { tier: rng.pick(['gold', 'silver']), score: rng.int(0, 99) },
  })).filter((_, i) => i % 5 !== 0)
  const events = Array.from({ length: 300 }, (_, i) => ({
    user_id: `c${rng.int(0, 39)}`,
    event: rng.bool(0.3) ? 'purchase' : 'view',
    time: new Date(Date.UTC(2025, 5, 1) + rng.int(0, 500) * 3600_000).toISOString(),
    event_id: `ev${i}`,
    properties: { page: rng.pick(['a', 'b']) },
  }))
  return { users, events }
}

const lines = (body: string) =>
  body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { type: string })

describeEachDb('GET /api/data/sample', (kind) => {
  let s: TestServer
  beforeAll(async () => {
    s = await newServer(kind, { tz: 'America/New_York' })
    const { users, events } = dataset()
    const headers = { 'content-type': 'application/x-ndjson', ...auth('admin') }
    expect(
      (await s.app.inject({ method: 'POST', url: '/api/data/users', payload: ndjson(users), headers })).statusCode,
    ).toBe(200)
    expect(
      (await s.app.inject({ method: 'POST', url: '/api/data/events', payload: ndjson(events), headers })).statusCode,
    ).toBe(200)
  })
  afterAll(async () => {
    await s?.close()
  })

  const get = (url: string, role: 'admin' | 'editor' | 'viewer' | null = 'editor') =>
    s.app.inject({ url, ...(role ? { headers: auth(role) } : {}) })

  it('answers editors and admins; viewers get 403 (raw customer data), no token 401', async () => {
    expect((await get('/api/data/sample', null)).statusCode).toBe(401)
    const v = await get('/api/data/sample', 'viewer')
    expect(v.statusCode).toBe(403)
    expect(v.json().error.code).toBe('forbidden')
    expect((await get('/api/data/sample?users=5', 'admin')).statusCode).toBe(200)
  })

  it('streams NDJSON: a meta line with sizes and the workspace tz, then users, then events in ingestion order', async () => {
    const r = await get('/api/data/sample?users=12&seed=4')
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/x-ndjson/)
    const all = lines(r.body)
    const [meta, ...rest] = all
    expect(meta).toMatchObject({ type: 'meta', totalUsers: 40, sampleUsers: 12, seed: 4, tz: 'America/New_York' })
    expect((meta!.schema as { events: Array<{ name: string }> }).events.map((e) => e.name).sort()).toEqual([
      'purchase',
      'view',
    ])
    const kinds = rest.map((l) => l.type)
    expect(kinds.lastIndexOf('user')).toBeLessThan(kinds.indexOf('event') === -1 ? Infinity : kinds.indexOf('event'))
    const users = rest.filter((l) => l.type === 'user')
    const events = rest.filter((l) => l.type === 'event')
    expect(users).toHaveLength(12)
    expect(events).toHaveLength(meta!.sampleEvents as number)
    const ids = new Set(users.map((u) => u.user_id))
    const expected = dataset()
      .events.filter((e) => ids.has(e.user_id))
      .map((e) => ({ type: 'event', ...e }))
    expect(events).toEqual(expected)
    // The same seed gives the same body; another seed other users.
    expect((await get('/api/data/sample?users=12&seed=4')).body).toBe(r.body)
    const other = lines((await get('/api/data/sample?users=12&seed=5')).body)
      .filter((l) => l.type === 'user')
      .map((u) => u.user_id)
    expect(other).not.toEqual(users.map((u) => u.user_id))
  })

  it('defaults to 2000 users (here: everyone) and refuses sizes out of range with their path', async () => {
    const [meta] = lines((await get('/api/data/sample')).body)
    expect(meta).toMatchObject({ sampleUsers: 40, seed: 1 })
    for (const q of ['users=0', 'users=20001', 'users=abc', 'seed=-1', 'seed=x']) {
      const r = await get(`/api/data/sample?${q}`)
      expect(r.statusCode, q).toBe(400)
      expect(r.json().error.path, q).toBe(`/query/${q.split('=')[0]}`)
    }
  })

  it('the body loads into an empty engine as it is', async () => {
    const body = (await get('/api/data/sample?users=15&seed=9')).body
    const db = await newDb(kind)
    try {
      const engine = new EngineService(db)
      await engine.migrate()
      const chunks = body.match(/[\s\S]{1,700}/g) ?? [] // split anywhere, mid-line included
      const report = await loadSampleNdjson(engine, db, chunks)
      expect(report.users).toBe(15)
      expect(await engine.schema()).toEqual(await s.engine.schema())
    } finally {
      await db.dispose()
    }
  })

  it('is audited as an export, with its size and seed', async () => {
    await get('/api/data/sample?users=3&seed=2')
    const { entries } = (
      await s.app.inject({ url: '/api/audit?action=export.sample&limit=1', headers: auth('admin') })
    ).json() as { entries: Array<Record<string, unknown>> }
    expect(entries[0]).toMatchObject({ action: 'export.sample', actor: 'eve', details: { users: 3, seed: 2 } })
  })

  it('health and me carry the workspace time zone', async () => {
    expect((await s.app.inject({ url: '/api/health' })).json()).toEqual({
      status: 'ok',
      db: kind,
      tz: 'America/New_York',
    })
    expect((await get('/api/me', 'viewer')).json()).toEqual({ name: 'vic', role: 'viewer', tz: 'America/New_York' })
  })
})
