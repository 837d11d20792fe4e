/**
 * Issue 12: injection through property and event names (and the values that carry them), on
 * PGlite and PostgreSQL. Names with quotes, backslashes, dollar quotes, semicolons, SQL
 * comments, placeholders, unicode (CJK, RTL, emoji, zero-width, combining), names that look
 * like the engine's own physical columns and tables (`c1`, `ev1`), prototype keys, and names at
 * the length limit go through ingestion (NDJSON and CSV headers), the data schema, rules of every
 * kind (preview, calculation), the distribution, and the CSV exports (re-parsed with csv-parse).
 * Each must come back byte-exact, select exactly the customers it should, and leave every
 * table intact; names that can't be names (NUL and other control characters, too long) are
 * refused with their row and nothing is stored.
 */
import { parse } from 'csv-parse/sync'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

const tricky = [
  "it's",
  'say "hi"',
  'back\\slash\\',
  '$$dollar$$',
  '$1',
  '$tag$ x $tag$',
  'a;b',
  "x'); DROP TABLE users; --",
  '"; DROP TABLE runs; --',
  '/* comment */ name',
  '-- dash',
  "=cmd|' /C calc'!A0",
  '%s %d ?',
  ':name @p {x}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template placeholder, on purpose
  '${x} `y`',
  'c1',
  'ev1',
  '__proto__',
  'constructor',
  '日本語 名前',
  'مرحبا',
  'emoji 😀👍🏽',
  'zero\u200bwidth',
  'e\u0301 combining',
  'Case',
  'case',
  'x'.repeat(128),
]

describeEachDb('property and event names with injection payloads', (kind) => {
  let s: TestServer
  const admin = { 'content-type': 'application/x-ndjson', ...auth('admin') }
  const json = { 'content-type': 'application/json', ...auth('admin') }
  // Customer u<i> has attribute tricky[i] = its own name as value, and an event named tricky[i]
  // whose property tricky[i] holds the name too; u_last has none of them.
  const users = tricky.map((name, i) => ({ user_id: `u${i}`, properties: { [name]: name } }))
  const events = tricky.map((name, i) => ({
    user_id: `u${i}`,
    event: name,
    time: '2026-01-10T00:00:00Z',
    properties: { [name]: name, amount: i + 1 },
  }))

  beforeAll(async () => {
    s = await newServer(kind)
    const batches: Array<[string, unknown[]]> = [
      ['/api/data/users', [...users, { user_id: 'nobody', properties: {} }]],
      ['/api/data/events', events],
    ]
    for (const [url, rows] of batches) {
      const r = await s.app.inject({ method: 'POST', url, payload: ndjson(rows), headers: admin })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.json().committed).toBe(true)
    }
  }, 300_000)
  afterAll(async () => {
    await s?.close()
  })

  const preview = (dataType: string, rule: unknown) =>
    s.app.inject({ method: 'POST', url: '/api/preview', payload: { dataType, rule }, headers: json })

  it('keeps every name byte-exact in the data schema', async () => {
    const schema = (await s.app.inject({ url: '/api/data/schema', headers: auth('viewer') })).json() as {
      userAttributes: Array<{ name: string }>
      events: Array<{ name: string; properties: Array<{ name: string }> }>
    }
    expect(schema.userAttributes.map((a) => a.name).sort()).toEqual([...tricky].sort())
    expect(schema.events.map((e) => e.name).sort()).toEqual([...tricky].sort())
    for (const e of schema.events) expect(e.properties.map((p) => p.name).sort()).toEqual(['amount', e.name].sort())
  })

  it('selects exactly the right customer through each name (attribute and behaviour conditions)', async () => {
    for (const [i, name] of tricky.entries()) {
      const attr = await preview('boolean', {
        method: 'custom',
        values: [{ value: true, when: { attribute: name, op: 'eq', value: name } }],
        otherwise: false,
      })
      expect(attr.statusCode, `${name}: ${attr.body}`).toBe(200)
      expect(attr.json().items, name).toContainEqual({ value: true, users: 1, proportion: expect.any(Number) })
      const behaviour = await preview('boolean', {
        method: 'custom',
        values: [
          {
            value: true,
            when: {
              event: name,
              where: [{ property: name, op: 'in', value: [name, 'other'] }],
              measure: { agg: 'sum', property: 'amount' },
              op: 'eq',
              value: i + 1,
            },
          },
        ],
        otherwise: false,
      })
      expect(behaviour.statusCode, `${name}: ${behaviour.body}`).toBe(200)
      expect(behaviour.json().items, name).toContainEqual({ value: true, users: 1, proportion: expect.any(Number) })
    }
  })

  it('carries names as values through first/last, preference and distribution interval names', async () => {
    for (const name of tricky.slice(0, 8)) {
      const first = await preview('string', { method: 'first_last', which: 'first', event: name, property: name })
      expect(first.statusCode, first.body).toBe(200)
      expect(first.json().items.map((x: { value: unknown }) => x.value)).toContain(name)
      const pref = await preview('string', { method: 'preference', event: name, property: name })
      expect(pref.statusCode, pref.body).toBe(200)
      expect(pref.json().items.map((x: { value: unknown }) => x.value)).toContain(name)
    }
    const dist = await preview('string', {
      method: 'distribution',
      event: tricky[0],
      measure: { agg: 'count' },
      boundaries: [1],
      names: [tricky[7], tricky[8]],
    })
    expect(dist.statusCode, dist.body).toBe(200)
    expect(dist.json().items.map((x: { value: unknown }) => x.value)).toContain(tricky[8])
  })

  it('calculates a label over every name; distribution and CSV exports give the names back exactly', async () => {
    const rule = {
      method: 'custom',
      values: tricky.map((name) => ({ value: name, when: { attribute: name, op: 'is_set' } })),
      otherwise: 'none of them',
    }
    const made = await s.app.inject({
      method: 'POST',
      url: '/api/labels',
      payload: { name: 'tricky', displayName: 'Tricky', dataType: 'string', labelType: 'static', rule },
      headers: json,
    })
    expect(made.statusCode, made.body).toBe(201)
    await until(async () => {
      const r = await s.app.inject({ url: '/api/labels/tricky/runs', headers: auth('viewer') })
      const run = (r.json() as { runs?: Array<{ status: string; error?: string }> }).runs?.[0]
      if (run?.status === 'failed') throw new Error(`run failed: ${run.error}`)
      return run?.status === 'succeeded'
    }, 120_000)
    const d = (await s.app.inject({ url: '/api/labels/tricky/distribution', headers: auth('viewer') })).json() as {
      items: Array<{ value: string; users: number }>
    }
    const want = [...tricky, 'none of them'].sort()
    expect(d.items.map((x) => x.value).sort()).toEqual(want)
    for (const x of d.items) expect(x.users, x.value).toBe(1)

    // A spreadsheet-safe export: a cell starting with = + - @ is prefixed with ' (engine/csv-cells.ts).
    const shown = (v: string) => (/^[=+\-@]/.test(v) ? `'${v}` : v)
    const csv = await s.app.inject({ url: '/api/labels/tricky/distribution?format=csv', headers: auth('viewer') })
    expect(csv.statusCode).toBe(200)
    const rows = parse(csv.body, { bom: true, columns: true }) as Array<{ value: string; users: string }>
    expect(rows.map((r) => r.value).sort()).toEqual(want.map(shown).sort())
    const aud = await s.app.inject({ url: '/api/labels/tricky/users?format=csv', headers: auth('viewer') })
    expect(aud.statusCode).toBe(200)
    const people = parse(aud.body, { bom: true, columns: true }) as Array<{ user_id: string; value: string }>
    expect(people).toHaveLength(tricky.length + 1)
    for (const [i, name] of tricky.entries())
      expect(people.find((p) => p.user_id === `u${i}`)?.value, name).toBe(shown(name))

    // Every table is still there and whole: the data reads as it was ingested.
    const again = (await s.app.inject({ url: '/api/data/schema', headers: auth('viewer') })).json() as {
      userAttributes: unknown[]
    }
    expect(again.userAttributes).toHaveLength(tricky.length)
  })

  it('takes tricky names as CSV headers too', async () => {
    const header = ['user_id', '"q,uote"', "it's", '日本語 名前']
    const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)
    const body = `${header.map(cell).join(',')}\ncsv1,"a,b",'x,"semi;colon"\n`
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/data/users',
      payload: body,
      headers: { 'content-type': 'text/csv', ...auth('admin') },
    })
    expect(r.statusCode, r.body).toBe(200)
    const p = await preview('boolean', {
      method: 'custom',
      values: [
        {
          value: true,
          when: {
            all: [
              { attribute: '"q,uote"', op: 'eq', value: 'a,b' },
              { attribute: "it's", op: 'eq', value: "'x" },
              { attribute: '日本語 名前', op: 'eq', value: 'semi;colon' },
            ],
          },
        },
      ],
      otherwise: false,
    })
    expect(p.statusCode, p.body).toBe(200)
    expect(p.json().items).toContainEqual({ value: true, users: 1, proportion: expect.any(Number) })
  })

  it('refuses names that cannot be names, by row, storing nothing', async () => {
    const before = (await s.app.inject({ url: '/api/data/schema', headers: auth('viewer') })).json()
    const bad: Array<[string, string]> = [
      ['nul\u0000name', 'control'],
      ['tab\tname', 'control'],
      ['new\nline', 'control'],
      ['x'.repeat(129), 'longer than 128'],
      ['   ', 'empty|missing event name'],
    ]
    for (const [name, why] of bad) {
      for (const [url, row] of [
        ['/api/data/users', { user_id: 'bad', properties: { [name]: 1 } }],
        ['/api/data/events', { user_id: 'u0', event: name, time: '2026-01-11T00:00:00Z' }],
        ['/api/data/events', { user_id: 'u0', event: 'ok', time: '2026-01-11T00:00:00Z', properties: { [name]: 1 } }],
      ] as const) {
        const r = await s.app.inject({
          method: 'POST',
          url,
          payload: ndjson([{ user_id: 'fine', properties: {} }, row].slice(url.endsWith('users') ? 0 : 1)),
          headers: admin,
        })
        expect(r.statusCode, `${JSON.stringify(name)} ${url}: ${r.body}`).toBe(400)
        expect(r.body, JSON.stringify(name)).toMatch(new RegExp(why))
        expect(r.body).toMatch(/row/)
      }
      // In a rule: NUL is refused with its JSON path (400); an unknown name is 422.
      const p = await preview('boolean', {
        method: 'custom',
        values: [{ value: true, when: { attribute: name, op: 'is_set' } }],
        otherwise: false,
      })
      expect([400, 422], `${JSON.stringify(name)}: ${p.body}`).toContain(p.statusCode)
      expect(p.json().error.path).toMatch(/^\/(body\/)?rule\/values\/0\/when/)
    }
    expect((await s.app.inject({ url: '/api/data/schema', headers: auth('viewer') })).json()).toEqual(before)
  })
})
