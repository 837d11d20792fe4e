import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

/** Replies carry the documented fields only: the document's internals (`order`, `rawGroupId`) stay inside. */
let s: TestServer
beforeAll(async () => {
  s = await newServer('pglite')
  await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson([{ user_id: 'u1', properties: { city: 'Paris' } }]),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
})
afterAll(async () => {
  await s?.close()
})

it('label replies have exactly the documented fields, and the cached projection keeps its own', async () => {
  const j = { 'content-type': 'application/json', ...auth('editor') }
  const created = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    payload: {
      name: 'fields',
      displayName: 'F',
      dataType: 'boolean',
      labelType: 'static',
      rule: { method: 'custom', values: [{ value: true, when: { attribute: 'city', op: 'is_set' } }] },
    },
    headers: j,
  })
  expect(created.statusCode, created.body).toBe(201)
  const documented = [
    'createdAt',
    'dataType',
    'description',
    'displayName',
    'enabled',
    'groupId',
    'id',
    'labelType',
    'lastRun',
    'name',
    'nameConflict',
    'nextRunAt',
    'rule',
    'schedule',
    'updatedAt',
  ]
  for (const body of [
    created.json(),
    (await s.app.inject({ url: '/api/labels/fields', headers: auth('viewer') })).json(),
    (await s.app.inject({ url: '/api/labels', headers: auth('viewer') })).json().labels[0],
  ]) {
    expect(Object.keys(body).sort()).toEqual(documented)
  }
  // The serializer worked on a copy: the workspace's own projection still has its order key.
  expect(s.app.workspace.findLabel('fields')).toHaveProperty('order')
  expect(s.app.workspace.findLabel('fields')).toHaveProperty('rawGroupId')
})

it('audit entries keep their target, status and details', async () => {
  const e = (await s.app.inject({ url: '/api/audit?action=label.create', headers: auth('admin') })).json()
    .entries as Array<Record<string, unknown>>
  expect(e[0]).toMatchObject({ action: 'label.create', status: 201, details: { name: 'fields' } })
})
