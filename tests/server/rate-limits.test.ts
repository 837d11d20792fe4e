import { join } from 'node:path'
import { expect, it } from 'vitest'
import { AuditLog } from '../../server/audit/audit-log.ts'
import { FailureLimiter } from '../../server/auth/failure-limiter.ts'
import { auth, ndjson, newServer } from './helpers.ts'

it('FailureLimiter audits the first failure of a window, limits past the maximum and summarises the rest', () => {
  let now = 0
  const l = new FailureLimiter({ maxPerWindow: 3, windowMs: 1000, now: () => now })
  const verdicts = Array.from({ length: 5 }, () => l.fail('1.1.1.1'))
  expect(verdicts.map((v) => v.audit)).toEqual([true, false, false, false, false])
  expect(verdicts.map((v) => v.limitedFor !== null)).toEqual([false, false, true, true, true])
  expect(l.limitedFor('2.2.2.2')).toBeNull() // another address is not limited
  now = 1000
  expect(l.limitedFor('1.1.1.1')).toBeNull() // the window ended
  const next = l.fail('1.1.1.1')
  expect(next).toMatchObject({ audit: true, limitedFor: null, summary: { ip: '1.1.1.1', failures: 4 } })
  const bounded = new FailureLimiter({ maxAddresses: 10 })
  for (let i = 0; i < 1000; i++) bounded.fail(`10.0.${i >> 8}.${i & 255}`)
  expect(bounded.drain()).toEqual([]) // one failure each: nothing to summarise, and at most 10 remembered
})

it('answers a flood of bad tokens 429 after the limit with few audit lines, and valid tokens still pass', async () => {
  const server = await newServer('pglite', { rateLimits: { authFailuresPerMinute: 5 } })
  const statuses: number[] = []
  for (let i = 0; i < 40; i++) {
    const r = await server.app.inject({
      method: 'GET',
      url: '/api/labels',
      headers: { authorization: `Bearer bad-token-${i}-xxxx` },
    })
    statuses.push(r.statusCode)
    if (r.statusCode === 429) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
  }
  expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401])
  expect(statuses.slice(5)).toEqual(Array(35).fill(429))
  const ok = await server.app.inject({ method: 'GET', url: '/api/labels', headers: auth('viewer') })
  expect(ok.statusCode).toBe(200)
  const file = join(server.dataDir, 'audit.jsonl')
  await server.app.close() // writes the window's summary
  const entries = await new AuditLog(file).list({ limit: 1000 })
  const failed = entries.filter((e) => e.action.startsWith('auth.failed'))
  expect(failed.map((e) => e.action).sort()).toEqual(['auth.failed', 'auth.failed.summary'])
  expect(failed.find((e) => e.action === 'auth.failed.summary')?.details).toMatchObject({ failures: 39 })
  await server.close()
})

it('limits previews per operator with 429 too_many_requests, other operators unaffected', async () => {
  const server = await newServer('pglite', { rateLimits: { previewPerMinute: 3 } })
  await server.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson([{ user_id: 'u1', properties: { city: 'Paris' } }]),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  const preview = (role: 'editor' | 'admin') =>
    server.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: {
        dataType: 'boolean',
        rule: { method: 'custom', values: [{ value: true, when: { attribute: 'city', op: 'is_set' } }] },
      },
      headers: auth(role),
    })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await preview('editor')).statusCode)
  expect(statuses).toEqual([200, 200, 200, 429])
  const limited = await preview('editor')
  expect(limited.json().error.code).toBe('too_many_requests')
  expect((await preview('admin')).statusCode).toBe(200)
  // Explaining a customer runs the rule for them: limited as previews are (a limit of its own).
  const explain = (role: 'editor' | 'viewer') =>
    server.app.inject({ url: '/api/labels/nothing_here/explain/u1', headers: auth(role) })
  const explained = []
  for (let i = 0; i < 4; i++) explained.push((await explain('editor')).statusCode)
  expect(explained).toEqual([404, 404, 404, 429])
  expect((await explain('viewer')).statusCode).toBe(404)
  await server.close()
})
