import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { sizeWords } from '../../server/http/body.ts'
import { describeEachDb } from '../helpers/db.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

it('names a size limit as people read it (the import limit read "67174400 bytes", 64 MiB and its framing slack)', () => {
  expect(sizeWords(64 * 1024 * 1024)).toBe('64 MiB')
  expect(sizeWords(1000)).toBe('1000 bytes')
})

/**
 * Edges of the HTTP contract (SPEC §8) an independent black-box audit found answered wrongly
 * (2026-12-06): each request here once stored an edit and answered another label, leaked a
 * request object into an error, truncated a malformed number, made a label unreachable by
 * name, trimmed a quoted customer id, or named the wrong field.
 */
describeEachDb('edges of the HTTP contract', (kind) => {
  let s: TestServer
  const inject = (o: InjectOptions) => s.app.inject(o)
  const get = async (url: string) => (await inject({ url, headers: auth('viewer') })).json()
  const ids: Record<string, string> = {}

  async function label(name: string, extra: Record<string, unknown> = {}) {
    const r = await inject({
      method: 'POST',
      url: '/api/labels',
      headers: auth('editor'),
      payload: {
        name,
        displayName: name,
        dataType: 'number',
        labelType: 'static',
        rule: { method: 'metric', event: 'buy', measure: { agg: 'sum', property: 'amount' } },
        ...extra,
      },
    })
    expect(r.statusCode, r.body).toBe(201)
    ids[name] = r.json().id
    await until(async () => (await get(`/api/labels/${name}`)).lastRun?.status === 'succeeded')
  }

  beforeAll(async () => {
    s = await newServer(kind)
    const nd = { ...auth('admin'), 'content-type': 'application/x-ndjson' }
    const users = ['u1', 'u2', 'u3', 'u4', 'u5', ' sp '].map((u) => ({ user_id: u, properties: {} }))
    const amounts = [1, 5, 20, 300, 2000]
    const events = amounts.map((amount, i) => ({
      user_id: `u${i + 1}`,
      event: 'buy',
      time: '2026-01-01T00:00:00Z',
      properties: { amount },
    }))
    for (const [url, rows] of [
      ['/api/data/users', users],
      ['/api/data/events', events],
    ] as const)
      expect((await inject({ method: 'POST', url, headers: nd, payload: ndjson([...rows]) })).statusCode).toBe(200)
    await label('spent')
    await label('other')
  }, 120_000)
  afterAll(async () => {
    await s?.close()
  })

  it("PATCH applies an edit to the label addressed and answers that label; another label's id is refused", async () => {
    const other = await get('/api/labels/other')
    const patch = (payload: Record<string, unknown>) =>
      inject({ method: 'PATCH', url: '/api/labels/spent', headers: auth('editor'), payload })
    const foreign = await patch({ id: other.id, displayName: 'Hijack' })
    expect(foreign.statusCode, foreign.body).toBe(422)
    expect(foreign.json().error.path).toBe('/body/id')
    const unknown = await patch({ displayName: 'Typo', displayname: 'x' })
    expect(unknown.statusCode, unknown.body).toBe(400)
    expect(unknown.json().error.path).toBe('/body/displayname')
    // Nothing of either refused request was stored, on either label.
    expect((await get('/api/labels/spent')).displayName).toBe('spent')
    expect((await get('/api/labels/other')).displayName).toBe('other')
    // A label as read, edited and sent back: its read-only fields are ignored, the edit applied.
    const read = await get('/api/labels/spent')
    const back = await patch({ ...read, displayName: 'Spent, all time' })
    expect(back.statusCode, back.body).toBe(200)
    expect(back.json()).toMatchObject({ id: ids.spent, name: 'spent', displayName: 'Spent, all time' })
    expect((await get(`/api/labels/${ids.spent}`)).displayName).toBe('Spent, all time')
    expect(await get('/api/labels/other')).toMatchObject({ id: ids.other, displayName: 'other' })
  })

  it('refuses a non-JSON body on a JSON route naming the content type', async () => {
    for (const type of ['text/plain', 'text/csv', 'application/x-ndjson']) {
      const r = await inject({
        method: 'POST',
        url: '/api/groups',
        headers: { ...auth('editor'), 'content-type': type },
        payload: JSON.stringify({ name: 'G' }),
      })
      expect(r.statusCode, `${type}: ${r.body}`).toBe(400)
      expect(r.json().error).toMatchObject({ path: '/headers/content-type', message: expect.stringMatching(/JSON/) })
    }
    expect((await get('/api/groups')).groups.some((g: { name: string }) => g.name === 'G')).toBe(false)
  })

  it('refuses a fractional or non-decimal integer in a query instead of truncating it', async () => {
    for (const q of ['top=2.5', 'top=50.5', 'bins=2.5', 'top=1e1', 'top=0x10']) {
      const r = await inject({ url: `/api/labels/spent/distribution?${q}`, headers: auth('viewer') })
      expect(r.statusCode, `${q}: ${r.body}`).toBe(400)
      expect(r.json().error.path).toBe(`/query/${q.split('=')[0]}`)
    }
    const ok = await inject({ url: '/api/labels/spent/distribution?top=2', headers: auth('viewer') })
    expect(ok.statusCode).toBe(200)
    expect(ok.json().items).toHaveLength(2)
    const page = await inject({ url: '/api/labels/spent/users?limit=2.5', headers: auth('viewer') })
    expect(page.statusCode).toBe(400)
  })

  it("refuses naming a label after another label's id, which would address that label", async () => {
    const create = await inject({
      method: 'POST',
      url: '/api/labels',
      headers: auth('editor'),
      payload: {
        name: ids.other,
        displayName: 'Shadow',
        dataType: 'number',
        labelType: 'static',
        rule: { method: 'metric', event: 'buy', measure: { agg: 'count' } },
      },
    })
    expect(create.statusCode, create.body).toBe(409)
    expect(create.json().error.path).toBe('/name')
    const rename = await inject({
      method: 'PATCH',
      url: '/api/labels/spent',
      headers: auth('editor'),
      payload: { name: ids.other },
    })
    expect(rename.statusCode, rename.body).toBe(409)
    expect((await get(`/api/labels/${ids.other}`)).name).toBe('other')
  })

  it("names the field of the rule's method that is wrong", async () => {
    const r = await inject({
      method: 'POST',
      url: '/api/preview',
      headers: auth('editor'),
      payload: { dataType: 'collection', rule: { method: 'preference', event: 'buy', property: 'amount', top: 0 } },
    })
    expect(r.statusCode, r.body).toBe(400)
    expect(r.json().error.path).toBe('/body/rule/top')
  })

  it('keeps a quoted user_id with its spaces in CSV, the same customer as in NDJSON, and imports to it', async () => {
    const before = (await s.engine.sample({ users: 100, seed: 1 })).users.length
    const csv = await inject({
      method: 'POST',
      url: '/api/data/users',
      headers: { ...auth('admin'), 'content-type': 'text/csv' },
      payload: 'user_id,tier\n" sp ",gold\n',
    })
    expect(csv.statusCode, csv.body).toBe(200)
    expect((await s.engine.sample({ users: 100, seed: 1 })).users.length).toBe(before) // upserted, not a new one
    const created = await inject({
      method: 'POST',
      url: '/api/labels',
      headers: auth('editor'),
      payload: { name: 'vip', displayName: 'VIP', dataType: 'string', labelType: 'static', rule: { method: 'import' } },
    })
    expect(created.statusCode, created.body).toBe(201)
    const imported = await inject({
      method: 'POST',
      url: '/api/labels/vip/import',
      headers: { ...auth('editor'), 'content-type': 'text/csv' },
      payload: 'user_id,value\n" sp ",yes\n',
    })
    expect(imported.statusCode, imported.body).toBeLessThan(300)
    await until(async () => (await get('/api/labels/vip')).lastRun?.status === 'succeeded')
    const labels = await get(`/api/users/${encodeURIComponent(' sp ')}/labels`)
    expect(labels.labels.map((l: { name: string; value: unknown }) => [l.name, l.value])).toContainEqual(['vip', 'yes'])
    expect((await get('/api/users/sp/labels')).labels).toEqual([])
  })

  it("lists a number label's history buckets in numeric order", async () => {
    const r = await inject({
      method: 'PUT',
      url: '/api/labels/spent/history/buckets',
      headers: auth('editor'),
      payload: { boundaries: [3, 17, 210, 1071] },
    })
    expect(r.statusCode, r.body).toBe(200)
    // The day stored in the first run's buckets can't be re-counted into these: a run counts it again.
    const run = await inject({ method: 'POST', url: '/api/labels/spent/calculate', headers: auth('editor') })
    expect(run.statusCode, run.body).toBe(202)
    await until(async () => (await get(`/api/runs/${run.json().runId}`)).status === 'succeeded')
    const items = (await get('/api/labels/spent/history')).items as Array<{ value: string; users: number }>
    expect(items.map((i) => i.value)).toEqual(['(-∞,3)', '[3,17)', '[17,210)', '[210,1071)', '[1071,+∞)'])
    expect(items.map((i) => i.users)).toEqual([2, 1, 1, 1, 1]) // 0 (u' sp '), 1; 5; 20; 300; 2000
  })

  it("sorts a behaviour distribution label's intervals by value in their numeric order, as its history lists them", async () => {
    await label('band', {
      dataType: 'string',
      rule: {
        method: 'distribution',
        event: 'buy',
        measure: { agg: 'sum', property: 'amount' },
        boundaries: [5, 10, 100],
      },
    })
    const order = ['(-∞,5)', '[5,10)', '[10,100)', '[100,+∞)']
    const asc = await get('/api/labels/band/distribution?sort=value&order=asc')
    expect(asc.items.map((i: { value: string }) => i.value)).toEqual(order)
    const desc = await get('/api/labels/band/distribution?sort=value&order=desc&top=2')
    expect(desc.items.map((i: { value: string }) => i.value)).toEqual(['[100,+∞)', '[10,100)'])
    expect((await get('/api/labels/band/history')).items.map((i: { value: string }) => i.value)).toEqual(order)
    // The same after an incremental run updated the summary from what it wrote.
    const nd = { ...auth('admin'), 'content-type': 'application/x-ndjson' }
    const more = [{ user_id: 'u1', event: 'buy', time: '2026-01-02T00:00:00Z', properties: { amount: 50 } }]
    expect(
      (await inject({ method: 'POST', url: '/api/data/events', headers: nd, payload: ndjson(more) })).statusCode,
    ).toBe(200)
    const run = await inject({
      method: 'POST',
      url: '/api/labels/band/calculate',
      headers: auth('editor'),
      payload: {},
    })
    const runId = run.json().runId
    await until(async () => (await get(`/api/runs/${runId}`)).status === 'succeeded')
    const again = await get('/api/labels/band/distribution?sort=value&order=asc')
    expect(again.runId).toBe(runId)
    expect(again.items.map((i: { value: string }) => i.value)).toEqual(order)
  })

  it("reorders a label within its group and drags it into another at a place, with PATCH's index", async () => {
    // SPEC §3: labels can be dragged to any group and reordered within it; over HTTP there was no way.
    const names = async (groupId: string) =>
      (await get(`/api/labels?groupId=${groupId}`)).labels.map((l: { name: string }) => l.name)
    const g = await inject({ method: 'POST', url: '/api/groups', headers: auth('editor'), payload: { name: 'Order' } })
    const gid = g.json().id as string
    const patch = (name: string, payload: Record<string, unknown>) =>
      inject({ method: 'PATCH', url: `/api/labels/${name}`, headers: auth('editor'), payload })
    for (const n of ['spent', 'other']) expect((await patch(n, { groupId: gid })).statusCode).toBe(200)
    expect(await names(gid)).toEqual(['spent', 'other'])
    const first = await patch('other', { index: 0 })
    expect(first.statusCode, first.body).toBe(200)
    expect(await names(gid)).toEqual(['other', 'spent'])
    // Into another group at a place, with another edit in the same request.
    const back = await patch('spent', { groupId: 'default', index: 0, description: 'moved' })
    expect(back.statusCode, back.body).toBe(200)
    expect(back.json()).toMatchObject({ groupId: 'default', description: 'moved' })
    expect((await names('default'))[0]).toBe('spent')
    expect(await names(gid)).toEqual(['other'])
    // Past the end: last. Not a non-negative integer: 400, nothing changed.
    expect((await patch('spent', { index: 99 })).statusCode).toBe(200)
    expect((await names('default')).at(-1)).toBe('spent')
    for (const index of [-1, 1.5, 'first']) {
      const bad = await patch('spent', { index, description: 'not applied' })
      expect(bad.statusCode, String(index)).toBe(400)
      expect(bad.json().error.path).toBe('/body/index')
    }
    expect((await get('/api/labels/spent')).description).toBe('moved')
  })
})
