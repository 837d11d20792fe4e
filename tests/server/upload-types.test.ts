import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, createLabel, newServer, type TestServer } from './helpers.ts'

/**
 * SPEC §8 names no media type for uploads ("NDJSON or CSV body", "CSV `user_id,value`"), and
 * clients send what their library picks: fetch a string as `text/plain;charset=UTF-8`, curl
 * `--data-binary` as form-urlencoded, some `application/ndjson`, some none. A black-box audit
 * (2026-12-06) found all of those refused with 400. And a client that always sets
 * `application/json` sent calculate's optional body empty and got 400.
 */
describeEachDb('upload content types', (kind) => {
  let s: TestServer
  const inject = (o: InjectOptions) => s.app.inject(o)
  const types = [
    'application/ndjson',
    'text/x-ndjson',
    'text/plain;charset=UTF-8',
    'application/json',
    'application/octet-stream',
    'application/x-www-form-urlencoded',
    'application/csv',
    null,
  ]

  beforeAll(async () => {
    s = await newServer(kind)
  })
  afterAll(async () => {
    await s?.close()
  })

  const headers = (role: 'admin' | 'editor', type: string | null) => ({
    ...auth(role),
    ...(type === null ? {} : { 'content-type': type }),
  })

  it('takes NDJSON and CSV users and events under any content type, telling them apart by their first character', async () => {
    let n = 0
    for (const type of types) {
      n++
      // CSV when the type says so; NDJSON otherwise, unless the body starts like CSV.
      if (type?.includes('csv')) {
        const c = await inject({
          method: 'POST',
          url: '/api/data/users',
          headers: headers('admin', type),
          payload: `user_id\nnd${n}\n`,
        })
        expect(c.statusCode, `${type} CSV users: ${c.body}`).toBe(200)
        continue
      }
      const nd = `\uFEFF  {"user_id":"nd${n}","properties":{"city":"Paris"}}\n`
      const a = await inject({ method: 'POST', url: '/api/data/users', headers: headers('admin', type), payload: nd })
      expect(a.statusCode, `${type} NDJSON: ${a.body}`).toBe(200)
      expect(a.json(), `${type} NDJSON`).toMatchObject({ stored: 1 })
      // CSV, unless the type says NDJSON.
      if (type?.includes('ndjson')) continue
      const csv = `user_id,event,time\ncsv${n},buy,2026-01-01T00:00:00Z\n`
      const b = await inject({ method: 'POST', url: '/api/data/events', headers: headers('admin', type), payload: csv })
      expect(b.statusCode, `${type} CSV: ${b.body}`).toBe(200)
      expect(b.json(), `${type} CSV`).toMatchObject({ stored: 1 })
    }
  })

  it('takes an import file under any content type', async () => {
    await createLabel(s.app, { name: 'vip', displayName: 'VIP', dataType: 'boolean', rule: { method: 'import' } })
    for (const type of types) {
      const r = await inject({
        method: 'POST',
        url: '/api/labels/vip/import',
        headers: headers('editor', type),
        payload: 'user_id,value\nnd1,true\n',
      })
      expect(r.statusCode, `${type}: ${r.body}`).toBe(200)
    }
  })

  it('takes an empty body sent as application/json as no body', async () => {
    await createLabel(s.app, {
      name: 'buys',
      displayName: 'Buys',
      dataType: 'number',
      rule: { method: 'metric', event: 'buy', measure: { agg: 'count' } },
    })
    const calc = await inject({
      method: 'POST',
      url: '/api/labels/buys/calculate',
      headers: { ...auth('editor'), 'content-type': 'application/json', 'content-length': '0' },
    })
    expect(calc.statusCode, calc.body).toBe(202)
    // No Content-Length at all (`curl -X POST -H 'content-type: application/json'`): no body either.
    const bare = await inject({
      method: 'POST',
      url: '/api/labels/buys/calculate',
      headers: { ...auth('editor'), 'content-type': 'application/json' },
    })
    expect(bare.statusCode, bare.body).toBe(202)
    const group = await inject({ method: 'POST', url: '/api/groups', headers: auth('editor'), payload: { name: 'G' } })
    const del = await inject({
      method: 'DELETE',
      url: `/api/groups/${group.json().id}`,
      headers: { ...auth('editor'), 'content-type': 'application/json', 'content-length': '0' },
    })
    expect(del.statusCode, del.body).toBe(204)
  })
})
