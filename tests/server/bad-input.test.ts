import { afterAll, beforeAll, expect, it } from 'vitest'
import { jsonProblem } from '../../shared/json-guard.ts'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

/** Inputs that once answered 500: each must be a 400/422 naming the JSON path or row, with nothing stored. */
it('jsonProblem finds NUL in values and keys and excessive depth, iteratively', () => {
  expect(jsonProblem({ a: [1, { b: 'x\u0000' }] })).toEqual({ path: '/a/1/b', message: expect.stringMatching(/NUL/) })
  expect(jsonProblem({ 'k\u0000': 1 })?.path).toBe('/k\u0000')
  expect(jsonProblem({ 'a/b': { '~': 'x\u0000' } })?.path).toBe('/a~1b/~0')
  let deep: unknown = 1
  for (let i = 0; i < 100_000; i++) deep = [deep]
  expect(jsonProblem(deep)?.message).toMatch(/deeper than 64/)
  expect(jsonProblem({ ok: ['fine', 1, null, { x: true }] })).toBeNull()
})

describeEachDb('bad input is answered, never a 500', (kind) => {
  let s: TestServer
  const json = { 'content-type': 'application/json', ...auth('admin') }
  const nd = { 'content-type': 'application/x-ndjson', ...auth('admin') }
  beforeAll(async () => {
    s = await newServer(kind)
    await s.app.inject({
      method: 'POST',
      url: '/api/data/users',
      payload: ndjson([{ user_id: 'u1', properties: { city: 'Paris' } }]),
      headers: nd,
    })
    await s.app.inject({
      method: 'POST',
      url: '/api/data/events',
      payload: ndjson([{ user_id: 'u1', event: 'buy', time: '2024-01-01T00:00:00Z', properties: { cat: 'x' } }]),
      headers: nd,
    })
  })
  afterAll(async () => {
    await s?.close()
  })

  it('refuses NUL in ingested values, user_id and event_id by row, storing nothing', async () => {
    const cases: Array<[string, string, string, RegExp]> = [
      [
        'users',
        ndjson([
          { user_id: 'u2', properties: { city: 'ok' } },
          { user_id: 'u3', properties: { city: 'Pa\u0000ris' } },
        ]),
        'application/x-ndjson',
        /row 2|"row":2/,
      ],
      ['users', ndjson([{ user_id: 'u\u00004', properties: { city: 'P' } }]), 'application/x-ndjson', /user_id/],
      ['users', 'user_id,city\nu5,fine\nu6,a\u0000b\n', 'text/csv', /NUL/],
      [
        'events',
        ndjson([{ user_id: 'u1', event: 'buy', time: '2024-01-02T00:00:00Z', event_id: 'e\u00001' }]),
        'application/x-ndjson',
        /event_id/,
      ],
      [
        'events',
        ndjson([{ user_id: 'u1', event: 'buy', time: '2024-01-02T00:00:00Z', properties: { cat: 'a\u0000' } }]),
        'application/x-ndjson',
        /cat/,
      ],
      [
        'events',
        ndjson([{ user_id: 'u1', event: 'buy', time: '0000-06-01T00:00:00Z' }]),
        'application/x-ndjson',
        /0001–9999/,
      ],
      ['users', ndjson([{ user_id: 'u7', properties: { born: '0000-01-01' } }]), 'application/x-ndjson', /0001–9999/],
    ]
    for (const [target, body, type, why] of cases) {
      const r = await s.app.inject({
        method: 'POST',
        url: `/api/data/${target}`,
        payload: body,
        headers: { 'content-type': type, ...auth('admin') },
      })
      expect(r.statusCode, `${target} ${JSON.stringify(body)} → ${r.body}`).toBe(400)
      expect(r.body).toMatch(why)
      expect(r.body).toMatch(/NUL|0001–9999/)
    }
    const sample = await s.engine.sample({ users: 100, seed: 1 })
    // u2 came with a bad row in the same request: not stored; only u1 exists.
    expect(JSON.stringify(sample)).not.toMatch(/"u[2-7]"/)
    expect(JSON.stringify(sample)).toMatch(/"u1"/)
  })

  it('refuses NUL in rule values, otherwise and collection values with the JSON path', async () => {
    const rule = {
      method: 'custom',
      values: [{ value: 'a', when: { attribute: 'city', op: 'eq', value: 'Pa\u0000' } }],
      otherwise: 'o',
    }
    const preview = await s.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'string', rule },
      headers: json,
    })
    expect(preview.statusCode).toBe(400)
    expect(preview.json().error.path).toBe('/body/rule/values/0/when/value')
    const label = await s.app.inject({
      method: 'POST',
      url: '/api/labels',
      payload: {
        name: 'nul_label',
        displayName: 'N',
        dataType: 'string',
        labelType: 'static',
        rule: {
          ...rule,
          values: [{ ...rule.values[0], when: { attribute: 'city', op: 'eq', value: 'P' } }],
          otherwise: 'o\u0000',
        },
      },
      headers: json,
    })
    expect(label.statusCode).toBe(400)
    expect(label.json().error.path).toBe('/body/rule/otherwise')
    expect((await s.app.inject({ method: 'GET', url: '/api/labels/nul_label', headers: json })).statusCode).toBe(404)
    // The engine refuses it too (a rule arriving through the collaborative document skips HTTP validation).
    await expect(
      s.engine.validateDefinition({
        dataType: 'collection',
        rule: { method: 'custom', values: [{ value: ['a', 'b\u0000'], when: { attribute: 'city', op: 'is_set' } }] },
      } as never),
    ).rejects.toThrow(/NUL/)
    const q = await s.app.inject({ method: 'GET', url: '/api/labels?q=a%00b', headers: json })
    expect(q.statusCode).toBe(400)
  })

  it('refuses a rule nested 20 000 levels deep with 400 before schema validation', async () => {
    const deep = '{"not":'.repeat(20000) + '{"attribute":"city","op":"eq","value":"x"}' + '}'.repeat(20000)
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: `{"dataType":"boolean","rule":{"method":"custom","values":[{"value":true,"when":${deep}}],"otherwise":false}}`,
      headers: json,
    })
    expect(r.statusCode).toBe(400)
    expect(r.json().error.message).toMatch(/deeper than/)
  })

  it('refuses asOf and window dates outside years 0001–9999, and year 1 with a lastDays window works', async () => {
    const count = { method: 'metric', event: 'buy', measure: { agg: 'count' } }
    const asOf0 = await s.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'number', rule: { ...count, window: { lastDays: 30 } }, asOf: '0000-01-01T00:00:00Z' },
      headers: json,
    })
    expect(asOf0.statusCode).toBe(400)
    expect(asOf0.json().error.path).toBe('/body/asOf')
    const win0 = await s.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'number', rule: { ...count, window: { from: '0000-01-01', to: '2024-01-01' } } },
      headers: json,
    })
    expect(win0.statusCode).toBe(422)
    expect(win0.json().error.path).toMatch(/window\/from$/)
    const year1 = await s.app.inject({
      method: 'POST',
      url: '/api/preview',
      payload: { dataType: 'number', rule: { ...count, window: { lastDays: 30 } }, asOf: '0001-01-02T00:00:00Z' },
      headers: json,
    })
    expect(year1.statusCode, year1.body).toBe(200)
    expect(year1.json().items).toEqual([{ value: 0, users: 1, proportion: 1 }])
    const calc = await s.app.inject({
      method: 'POST',
      url: '/api/labels',
      payload: { name: 'buys', displayName: 'B', dataType: 'number', labelType: 'static', rule: count },
      headers: json,
    })
    expect(calc.statusCode).toBe(201)
    const bad = await s.app.inject({
      method: 'POST',
      url: '/api/labels/buys/calculate',
      payload: { asOf: '0000-12-31' },
      headers: json,
    })
    expect(bad.statusCode).toBe(400)
  })

  it('reads a JSON body sent to a data route as one NDJSON row, and answers a bad one with 400, not 500', async () => {
    const made = await s.app.inject({
      method: 'POST',
      url: '/api/labels',
      payload: {
        name: 'imported',
        displayName: 'I',
        dataType: 'string',
        labelType: 'static',
        rule: { method: 'import' },
      },
      headers: json,
    })
    expect(made.statusCode, made.body).toBe(201)
    // SPEC names no media type for uploads: an object is an NDJSON row (a user), …
    const user = await s.app.inject({
      method: 'POST',
      url: '/api/data/users',
      payload: { user_id: 'u_json' },
      headers: json,
    })
    expect(user.statusCode, user.body).toBe(200)
    expect(user.json()).toMatchObject({ stored: 1 })
    // … an event without its event and time is a bad row, and an import file is CSV.
    for (const url of ['/api/labels/imported/import', '/api/data/events']) {
      const r = await s.app.inject({ method: 'POST', url, payload: { user_id: 'u1' }, headers: json })
      expect(r.statusCode, `${url} → ${r.body}`).toBe(400)
      expect(r.json().error.path).toMatch(/^\/body/)
    }
  })
})
