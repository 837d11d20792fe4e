import { Readable } from 'node:stream'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createLabel, deleteLabel, origin, updateLabel } from '../../shared/doc/index.ts'
import { auth, ndjson, newServer, until, type TestServer } from './helpers.ts'

let s: TestServer
const N = 12_000 // more than two audience pages

beforeAll(async () => {
  s = await newServer('pglite', { limits: { ingestBytes: 2 * 1024 * 1024 } })
  const users = Array.from({ length: N }, (_, i) => ({
    user_id: `u${i}`,
    properties: { band: i % 3 === 0 ? 'a' : 'b' },
  }))
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson(users),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(r.statusCode).toBe(200)
})
afterAll(async () => {
  await s?.close()
})

const runsOf = async (id: string) =>
  (await s.app.inject({ url: `/api/labels/${id}/runs`, headers: auth('viewer') })).json().runs as Array<{
    trigger: string
    status: string
  }>

it('calculates labels created, and recalculates labels edited, by collaborators over the document', async () => {
  const live = await s.app.collab.get('main')
  const by = origin('remote', 'browser-user')
  const label = createLabel(
    live.doc,
    {
      name: 'band',
      displayName: 'Band',
      dataType: 'string',
      labelType: 'static',
      rule: { method: 'custom', values: [{ value: 'A', when: { attribute: 'band', op: 'eq', value: 'a' } }] },
    },
    by,
  )
  await until(async () => (await runsOf(label.id)).some((r) => r.trigger === 'create' && r.status === 'succeeded'))

  updateLabel(live.doc, label.id, { displayName: 'Band (renamed)' }, by)
  await live.flushed()
  await s.app.runQueue.idle()
  expect((await runsOf(label.id)).filter((r) => r.trigger === 'update')).toEqual([])

  updateLabel(
    live.doc,
    label.id,
    { rule: { method: 'custom', values: [{ value: 'B', when: { attribute: 'band', op: 'eq', value: 'b' } }] } },
    by,
  )
  await until(async () => (await runsOf(label.id)).some((r) => r.trigger === 'update' && r.status === 'succeeded'))
  const d = (await s.app.inject({ url: `/api/labels/${label.id}/distribution`, headers: auth('viewer') })).json()
  expect(d.items).toEqual([expect.objectContaining({ value: 'B', users: N - N / 3 })])
  const audit = (await s.app.inject({ url: '/api/audit?action=collab', headers: auth('admin') })).json().entries
  expect(audit[audit.length - 1]).toMatchObject({
    actor: 'browser-user',
    action: 'collab.labels',
    details: { created: [label.id] },
  })
})

it('streams an audience larger than one page, as JSON and as CSV', async () => {
  const json = await s.app.inject({ url: '/api/labels/band/users', headers: auth('viewer') })
  expect(json.headers['content-type']).toMatch(/^application\/json/)
  const body = json.json() as { users: Array<{ userId: string; value: string }> }
  expect(body.users).toHaveLength(N - N / 3)
  expect(new Set(body.users.map((u) => u.userId)).size).toBe(N - N / 3)
  const csv = await s.app.inject({ url: '/api/labels/band/users?format=csv&value=B', headers: auth('viewer') })
  expect(csv.headers['content-disposition']).toBe('attachment; filename="band-users.csv"')
  expect(csv.body.trimEnd().split('\r\n')).toHaveLength(N - N / 3 + 1)
  const none = (await s.app.inject({ url: '/api/labels/band/users?value=zzz', headers: auth('viewer') })).json()
  expect(none.users).toEqual([])
})

it('removes results when a collaborator deletes the label', async () => {
  const live = await s.app.collab.get('main')
  const id = s.app.workspace.findLabel('band')!.id
  deleteLabel(live.doc, id, origin('remote', 'browser-user'))
  await until(async () => (await s.engine.lastRuns([id]))[id] === undefined)
  expect(await s.engine.userLabels('u1')).toEqual([])
})

it('answers 413 when an ingestion body passes the limit, storing nothing', async () => {
  const users = Array.from({ length: 50_000 }, (_, i) => ({ user_id: `big${i}`, properties: { band: 'c' } }))
  const body = ndjson(users)
  expect(body.length).toBeGreaterThan(2 * 1024 * 1024)
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: body,
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(r.statusCode).toBe(413)
  expect(r.json().error.code).toBe('too_large')
  const chunked = await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked', ...auth('admin') },
    payload: Readable.from(
      (function* () {
        for (let i = 0; i * 60_000 < body.length; i++) yield Buffer.from(body.slice(i * 60_000, (i + 1) * 60_000))
      })(),
    ),
  })
  expect(chunked.statusCode).toBe(413)
  const schema = (await s.app.inject({ url: '/api/data/schema', headers: auth('viewer') })).json()
  expect(schema.userAttributes).toEqual([{ name: 'band', type: 'string' }])
  expect(await s.engine.userLabels('big1')).toEqual([])
})
