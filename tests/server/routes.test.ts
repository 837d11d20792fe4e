import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeEachDb } from '../helpers/db.ts'
import { makeRng } from '../../shared/prng.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

const cities = ['Paris', 'Berlin', '=HYPERLINK("x")', 'Rome']

/** 60 users and their purchases, seeded. */
function dataset() {
  const rng = makeRng(7)
  const users = Array.from({ length: 60 }, (_, i) => ({
    user_id: `u${i}`,
    properties: { city: cities[i % cities.length], age: 20 + (i % 30) },
  }))
  const lines = ['user_id,event,time,amount']
  for (let i = 0; i < 60; i++) {
    const n = rng.int(0, 3)
    for (let k = 0; k < n; k++)
      lines.push(`u${i},purchase,2026-01-${String(1 + k).padStart(2, '0')}T10:00:00Z,${10 + k}`)
  }
  return { users, eventsCsv: lines.join('\n') + '\n' }
}

describeEachDb('HTTP API', (kind) => {
  let s: TestServer
  const inject = (o: InjectOptions) => s.app.inject(o)
  beforeAll(async () => {
    s = await newServer(kind, { limits: { importBytes: 4096, importRows: 100 } })
  })
  afterAll(async () => {
    await s?.close()
  })

  describe('ingestion', () => {
    it('refuses ingestion without a token (401) and to non-admins (403)', async () => {
      const body = ndjson([{ user_id: 'x', properties: {} }])
      const headers = { 'content-type': 'application/x-ndjson' }
      expect((await inject({ method: 'POST', url: '/api/data/users', payload: body, headers })).statusCode).toBe(401)
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/data/users',
            payload: body,
            headers: { ...headers, authorization: 'Bearer nope-nope-nope' },
          })
        ).statusCode,
      ).toBe(401)
      const r = await inject({
        method: 'POST',
        url: '/api/data/users',
        payload: body,
        headers: { ...headers, ...auth('editor') },
      })
      expect(r.statusCode).toBe(403)
      expect(r.json().error.code).toBe('forbidden')
    })

    it('stores NDJSON users and CSV events for an admin', async () => {
      const { users, eventsCsv } = dataset()
      const u = await inject({
        method: 'POST',
        url: '/api/data/users',
        payload: ndjson(users),
        headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
      })
      expect(u.statusCode).toBe(200)
      expect(u.json()).toMatchObject({ stored: 60, committed: true })
      const e = await inject({
        method: 'POST',
        url: '/api/data/events',
        payload: eventsCsv,
        headers: { 'content-type': 'text/csv', ...auth('admin') },
      })
      expect(e.statusCode).toBe(200)
      expect(e.json().committed).toBe(true)
      const schema = (await inject({ url: '/api/data/schema', headers: auth('viewer') })).json()
      expect(schema.userAttributes.map((a: { name: string }) => a.name).sort()).toEqual(['age', 'city'])
      expect(schema.events[0].name).toBe('purchase')
    })

    it('answers 400 with row numbers for bad rows and stores nothing, unless skipInvalid', async () => {
      const body = ndjson([{ user_id: 'ok1', properties: {} }, { properties: {} }, { user_id: 'ok2', properties: {} }])
      const headers = { 'content-type': 'application/x-ndjson', ...auth('admin') }
      const bad = await inject({ method: 'POST', url: '/api/data/users', payload: body, headers })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.details.errors[0].row).toBe(2)
      const skip = await inject({ method: 'POST', url: '/api/data/users?skipInvalid=true', payload: body, headers })
      expect(skip.statusCode).toBe(200)
      expect(skip.json()).toMatchObject({ stored: 2, committed: true })
      expect(skip.json().errors).toHaveLength(1)
    })

    it('refuses an unknown content type with 400', async () => {
      const r = await inject({
        method: 'POST',
        url: '/api/data/users',
        payload: '<x/>',
        headers: { 'content-type': 'application/xml', ...auth('admin') },
      })
      expect(r.statusCode).toBe(400)
    })
  })

  describe('groups', () => {
    it('creates, nests, renames and deletes groups; keeps the Default rules', async () => {
      const v = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Value' },
        headers: auth('viewer'),
      })
      expect(v.statusCode).toBe(403)
      const g = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Lifecycle' },
        headers: auth('editor'),
      })
      expect(g.statusCode).toBe(201)
      const parent = g.json()
      const sub = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'New', parentId: parent.id },
        headers: auth('editor'),
      })
      expect(sub.statusCode).toBe(201)
      const third = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Deep', parentId: sub.json().id },
        headers: auth('editor'),
      })
      expect(third.statusCode).toBe(409)
      const underDefault = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'X', parentId: 'default' },
        headers: auth('editor'),
      })
      expect(underDefault.statusCode).toBe(409)
      const renamed = await inject({
        method: 'PATCH',
        url: `/api/groups/${parent.id}`,
        payload: { name: 'Life cycle' },
        headers: auth('editor'),
      })
      expect(renamed.json()).toMatchObject({ name: 'Life cycle', children: [{ name: 'New' }] })
      expect((await inject({ method: 'DELETE', url: '/api/groups/default', headers: auth('editor') })).statusCode).toBe(
        409,
      )
      // A refused move in the same PATCH leaves the name alone (one transaction).
      const refused = await inject({
        method: 'PATCH',
        url: `/api/groups/${parent.id}`,
        payload: { name: 'Nope', parentId: 'default' },
        headers: auth('editor'),
      })
      expect(refused.statusCode).toBe(409)
      const moved = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Second' },
        headers: auth('editor'),
      })
      const under = await inject({
        method: 'PATCH',
        url: `/api/groups/${moved.json().id}`,
        payload: { parentId: parent.id, index: 0 },
        headers: auth('editor'),
      })
      expect(under.json()).toMatchObject({ parentId: parent.id })
      expect(
        (await inject({ method: 'DELETE', url: `/api/groups/${moved.json().id}`, headers: auth('editor') })).statusCode,
      ).toBe(204)
      expect(
        (await inject({ method: 'PATCH', url: '/api/groups/nope', payload: { name: 'a' }, headers: auth('editor') }))
          .statusCode,
      ).toBe(404)
      const bad = await inject({ method: 'POST', url: '/api/groups', payload: { name: '' }, headers: auth('editor') })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().error.path).toBe('/body/name')
      const tmp = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'Tmp' },
        headers: auth('editor'),
      })
      expect(
        (await inject({ method: 'DELETE', url: `/api/groups/${tmp.json().id}`, headers: auth('editor') })).statusCode,
      ).toBe(204)
      const tree = (await inject({ url: '/api/groups', headers: auth('viewer') })).json().groups
      expect(tree.map((n: { name: string }) => n.name)).toEqual(['Default', 'Life cycle'])
    })
  })

  describe('labels', () => {
    const cityLabel = {
      name: 'city_tier',
      displayName: 'City tier',
      dataType: 'string',
      labelType: 'static',
      rule: {
        method: 'custom',
        values: [{ value: 'capital', when: { attribute: 'city', op: 'in', value: ['Paris', 'Berlin'] } }],
        otherwise: 'other',
      },
    }
    let labelId = ''

    it('creates a label (201) which is calculated once right away', async () => {
      expect(
        (await inject({ method: 'POST', url: '/api/labels', payload: cityLabel, headers: auth('viewer') })).statusCode,
      ).toBe(403)
      const r = await inject({ method: 'POST', url: '/api/labels', payload: cityLabel, headers: auth('editor') })
      expect(r.statusCode).toBe(201)
      labelId = r.json().id
      expect(r.json()).toMatchObject({
        name: 'city_tier',
        groupId: 'default',
        schedule: { kind: 'once' },
        enabled: true,
      })
      const done = await until(async () => {
        const l = (await inject({ url: `/api/labels/${labelId}`, headers: auth('viewer') })).json()
        return l.lastRun?.status === 'succeeded' ? l : null
      })
      expect(done.lastRun).toMatchObject({ trigger: 'create', totalUsers: 62 })
      expect(done.nextRunAt).toBeNull()
    })

    it('refuses a duplicate name (409), an unknown attribute (422 with path), a malformed rule (400 with path)', async () => {
      const dup = await inject({ method: 'POST', url: '/api/labels', payload: cityLabel, headers: auth('editor') })
      expect(dup.statusCode).toBe(409)
      const unknown = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: {
          ...cityLabel,
          name: 'x1',
          rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } },
          dataType: 'number',
        },
      })
      expect(unknown.statusCode).toBe(422)
      expect(unknown.json().error.path).toBe('/rule/event')
      const malformed = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: { ...cityLabel, name: 'x2', rule: { method: 'metric', event: 'purchase', measure: { agg: 'nope' } } },
      })
      expect(malformed.statusCode).toBe(400)
      expect(malformed.json().error.path).toMatch(/^\/body\/rule/)
      const badName = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: { ...cityLabel, name: 'Bad Name' },
      })
      expect(badName.json().error.path).toBe('/body/name')
      const mismatch = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: { ...cityLabel, name: 'x3', schedule: { kind: 'daily', at: '08:00' } },
      })
      expect(mismatch.statusCode).toBe(422)
    })

    it('finds labels by id or name, filters by q and group', async () => {
      const byName = await inject({ url: '/api/labels/city_tier', headers: auth('viewer') })
      expect(byName.json().id).toBe(labelId)
      expect((await inject({ url: '/api/labels/nope', headers: auth('viewer') })).statusCode).toBe(404)
      const q = (await inject({ url: '/api/labels?q=CITY%20T', headers: auth('viewer') })).json()
      expect(q.labels.map((l: { name: string }) => l.name)).toEqual(['city_tier'])
      expect((await inject({ url: '/api/labels?q=zzz', headers: auth('viewer') })).json().labels).toEqual([])
      expect((await inject({ url: '/api/labels?groupId=nope', headers: auth('viewer') })).json().labels).toEqual([])
    })

    it('calculates on request (202 runId) and reports the run', async () => {
      expect(
        (await inject({ method: 'POST', url: `/api/labels/${labelId}/calculate`, headers: auth('viewer') })).statusCode,
      ).toBe(403)
      const r = await inject({
        method: 'POST',
        url: `/api/labels/city_tier/calculate`,
        payload: {},
        headers: auth('editor'),
      })
      expect(r.statusCode).toBe(202)
      const { runId } = r.json()
      const run = await until(async () => {
        const x = (await inject({ url: `/api/runs/${runId}`, headers: auth('viewer') })).json()
        return x.status === 'succeeded' ? x : null
      })
      // How it wrote its results (this engine swaps and doesn't count: LABELS_RESULT_WRITES=swap).
      expect(run).toMatchObject({ id: runId, labelId, trigger: 'manual', coveredUsers: 62, resultWrites: 'swap' })
      expect(run.changedUsers).toBeNull()
      expect((await inject({ url: '/api/runs/nope', headers: auth('viewer') })).statusCode).toBe(404)
      const runs = (await inject({ url: `/api/labels/${labelId}/runs`, headers: auth('viewer') })).json().runs
      expect(runs.length).toBeGreaterThanOrEqual(2)
      const bad = await inject({
        method: 'POST',
        url: `/api/labels/${labelId}/calculate`,
        payload: { asOf: 'yesterday' },
        headers: auth('editor'),
      })
      expect(bad.statusCode).toBe(400)
    })

    it('serves the distribution as JSON and as a neutralised CSV export', async () => {
      const d = (await inject({ url: `/api/labels/${labelId}/distribution`, headers: auth('viewer') })).json()
      expect(d).toMatchObject({ labelId, totalUsers: 62, coveredUsers: 62 })
      const capital = d.items.find((i: { value: string }) => i.value === 'capital')
      expect(capital.users).toBe(30)
      const top = (
        await inject({ url: `/api/labels/${labelId}/distribution?top=1&sort=value&order=asc`, headers: auth('viewer') })
      ).json()
      expect(top.items).toHaveLength(1)
      expect(
        (await inject({ url: `/api/labels/${labelId}/distribution?top=99`, headers: auth('viewer') })).statusCode,
      ).toBe(400)
      const csv = await inject({ url: `/api/labels/${labelId}/distribution?format=csv&token=${'viewer-token-0001'}` })
      expect(csv.statusCode).toBe(200)
      expect(csv.headers['content-type']).toMatch(/^text\/csv/)
      expect(csv.headers['content-disposition']).toBe('attachment; filename="city_tier-distribution.csv"')
      expect(csv.body.startsWith('\uFEFFvalue,from,to,users,proportion\r\n')).toBe(true)
    })

    it('neutralises formula cells in exports', async () => {
      const r = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: {
          name: 'home_city',
          displayName: 'Home city',
          dataType: 'string',
          labelType: 'static',
          rule: { method: 'first_last', which: 'last', event: 'purchase', property: 'amount' },
        },
      })
      // A string label over a number property may be refused; use a custom rule with the raw city instead.
      const id = r.statusCode === 201 ? r.json().id : null
      if (id) await inject({ method: 'DELETE', url: `/api/labels/${id}`, headers: auth('editor') })
      const c = await inject({
        method: 'POST',
        url: '/api/labels',
        headers: auth('editor'),
        payload: {
          name: 'formula_city',
          displayName: 'Formula city',
          dataType: 'string',
          labelType: 'static',
          rule: {
            method: 'custom',
            values: [{ value: '=HYPERLINK("x")', when: { attribute: 'city', op: 'eq', value: '=HYPERLINK("x")' } }],
          },
        },
      })
      expect(c.statusCode).toBe(201)
      await until(
        async () =>
          (await inject({ url: `/api/labels/formula_city`, headers: auth('viewer') })).json().lastRun?.status ===
          'succeeded',
      )
      const csv = await inject({ url: '/api/labels/formula_city/distribution?format=csv', headers: auth('viewer') })
      expect(csv.body).toContain(`"'=HYPERLINK(""x"")"`)
      const users = await inject({ url: '/api/labels/formula_city/users?format=csv', headers: auth('viewer') })
      expect(users.body.startsWith('\uFEFFuser_id,value\r\n')).toBe(true)
      expect(users.body).toContain(`u2,"'=HYPERLINK(""x"")"`)
    })

    it('serves history as JSON and CSV, filtered by value', async () => {
      const h = (await inject({ url: `/api/labels/${labelId}/history`, headers: auth('viewer') })).json()
      expect(h.labelId).toBe(labelId)
      expect(h.items.length).toBeGreaterThan(0)
      const only = (
        await inject({ url: `/api/labels/${labelId}/history?value=capital`, headers: auth('viewer') })
      ).json()
      expect(only.items.length).toBeGreaterThan(0)
      expect(only.items.every((i: { value: string }) => i.value === 'capital')).toBe(true)
      const csv = await inject({ url: `/api/labels/${labelId}/history?format=csv`, headers: auth('viewer') })
      expect(csv.body.startsWith('\uFEFFdate,value,users,proportion\r\n')).toBe(true)
      expect(
        (await inject({ url: `/api/labels/${labelId}/history?from=yesterday`, headers: auth('viewer') })).statusCode,
      ).toBe(400)
    })

    it('streams the audience as JSON and pages it with limit/after', async () => {
      const all = await inject({ url: `/api/labels/${labelId}/users?value=capital`, headers: auth('viewer') })
      expect(all.statusCode).toBe(200)
      const body = all.json()
      expect(body.users).toHaveLength(30)
      const p1 = (
        await inject({ url: `/api/labels/${labelId}/users?value=capital&limit=20`, headers: auth('viewer') })
      ).json()
      expect(p1.users).toHaveLength(20)
      const p2 = (
        await inject({
          url: `/api/labels/${labelId}/users?value=capital&limit=20&after=${p1.nextCursor}`,
          headers: auth('viewer'),
        })
      ).json()
      expect(p2.users).toHaveLength(10)
      expect(new Set([...p1.users, ...p2.users].map((u: { userId: string }) => u.userId)).size).toBe(30)
    })

    it("looks up one customer's labels", async () => {
      const r = (await inject({ url: '/api/users/u0/labels', headers: auth('viewer') })).json()
      expect(r.userId).toBe('u0')
      expect(r.labels).toContainEqual(expect.objectContaining({ labelId, name: 'city_tier', value: 'capital' }))
    })

    it('patches fields, recalculating when the rule changes', async () => {
      const p = await inject({
        method: 'PATCH',
        url: `/api/labels/${labelId}`,
        payload: { displayName: 'Tier', rule: { ...cityLabel.rule, otherwise: 'rest' } },
        headers: auth('editor'),
      })
      expect(p.statusCode).toBe(200)
      expect(p.json().displayName).toBe('Tier')
      await until(async () => {
        const runs = (await inject({ url: `/api/labels/${labelId}/runs`, headers: auth('viewer') })).json().runs
        return runs.some((r: { trigger: string; status: string }) => r.trigger === 'update' && r.status === 'succeeded')
      })
      const d = (await inject({ url: `/api/labels/${labelId}/distribution`, headers: auth('viewer') })).json()
      expect(d.items.map((i: { value: string }) => i.value)).toContain('rest')
      const dup = await inject({
        method: 'PATCH',
        url: `/api/labels/${labelId}`,
        payload: { name: 'formula_city' },
        headers: auth('editor'),
      })
      expect(dup.statusCode).toBe(409)
      const bad = await inject({
        method: 'PATCH',
        url: `/api/labels/${labelId}`,
        payload: { rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } }, dataType: 'number' },
        headers: auth('editor'),
      })
      expect(bad.statusCode).toBe(422)
      const dyn = await inject({
        method: 'PATCH',
        url: `/api/labels/${labelId}`,
        payload: { labelType: 'dynamic', schedule: { kind: 'daily', at: '03:00' } },
        headers: auth('editor'),
      })
      expect(dyn.json().nextRunAt).toMatch(/T03:00:00\.000Z$/)
    })

    it('previews an unsaved rule without storing anything', async () => {
      const r = await inject({
        method: 'POST',
        url: '/api/preview',
        payload: { dataType: 'number', rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } } },
        headers: auth('editor'),
      })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ labelId: null, runId: null, totalUsers: 62 })
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/preview',
            payload: { dataType: 'number', rule: { method: 'metric', event: 'nope', measure: { agg: 'count' } } },
            headers: auth('editor'),
          })
        ).statusCode,
      ).toBe(422)
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/preview',
            payload: { dataType: 'number' },
            headers: auth('editor'),
          })
        ).statusCode,
      ).toBe(400)
      expect(
        (
          await inject({
            method: 'POST',
            url: '/api/preview',
            payload: { dataType: 'number', rule: { method: 'import' } },
            headers: auth('viewer'),
          })
        ).statusCode,
      ).toBe(403)
    })

    it('deletes a label with its results (204), then 404', async () => {
      const id = (await inject({ url: '/api/labels/formula_city', headers: auth('viewer') })).json().id
      expect((await inject({ method: 'DELETE', url: `/api/labels/${id}`, headers: auth('viewer') })).statusCode).toBe(
        403,
      )
      expect((await inject({ method: 'DELETE', url: `/api/labels/${id}`, headers: auth('editor') })).statusCode).toBe(
        204,
      )
      expect((await inject({ url: `/api/labels/${id}`, headers: auth('viewer') })).statusCode).toBe(404)
      expect((await inject({ url: `/api/labels/${id}/distribution`, headers: auth('viewer') })).statusCode).toBe(404)
    })
  })

  describe('audit, docs and errors', () => {
    it('answers health without a token and me with one', async () => {
      expect((await inject({ url: '/api/health' })).json()).toEqual({ status: 'ok', db: kind, tz: 'UTC' })
      expect((await inject({ url: '/api/me', headers: auth('editor') })).json()).toEqual({
        name: 'eve',
        role: 'editor',
        tz: 'UTC',
      })
      const none = await inject({ url: '/api/me' })
      expect(none.statusCode).toBe(401)
      expect(none.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } })
      expect((await inject({ url: '/api/me', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401)
      expect((await inject({ url: `/api/me?token=${'viewer-token-0001'}` })).statusCode).toBe(200)
      // ?token= is for GETs (exports, sockets) only.
      expect(
        (await inject({ method: 'POST', url: `/api/groups?token=${'editor-token-0001'}`, payload: { name: 'x' } }))
          .statusCode,
      ).toBe(401)
    })

    it('keeps an audit log that only admins read', async () => {
      expect((await inject({ url: '/api/audit', headers: auth('editor') })).statusCode).toBe(403)
      const entries = (await inject({ url: '/api/audit?limit=1000', headers: auth('admin') })).json().entries as Array<{
        action: string
        actor: string | null
      }>
      const actions = new Set(entries.map((e) => e.action))
      for (const a of [
        'auth.failed',
        'data.ingest.users',
        'data.ingest.events',
        'label.create',
        'label.update',
        'label.delete',
        'label.calculate',
        'export.distribution',
        'export.history',
        'export.audience',
        'group.create',
      ])
        expect(actions, a).toContain(a)
      expect(entries.find((e) => e.action === 'label.create')?.actor).toBe('eve')
      const only = (await inject({ url: '/api/audit?action=label', headers: auth('admin') })).json().entries
      expect(only.length).toBeGreaterThan(0)
      expect(only.every((e: { action: string }) => e.action.startsWith('label.'))).toBe(true)
    })

    it('publishes an OpenAPI document and answers unknown routes with the error shape', async () => {
      const docs = (await inject({ url: '/api/docs', headers: auth('viewer') })).json()
      expect(Object.keys(docs.paths)).toEqual(
        expect.arrayContaining(['/api/labels/{label}/distribution', '/api/data/users', '/api/preview']),
      )
      const nf = await inject({ url: '/api/nothing', headers: auth('viewer') })
      expect(nf.statusCode).toBe(404)
      expect(nf.json().error.code).toBe('not_found')
      const badJson = await inject({
        method: 'POST',
        url: '/api/groups',
        payload: '{bad',
        headers: { 'content-type': 'application/json', ...auth('editor') },
      })
      expect(badJson.statusCode).toBe(400)
      expect(badJson.json().error.code).toBe('bad_request')
    })
  })
})
