import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, ndjson, newServer, type TestServer } from './helpers.ts'

/** Names and ids that are also Object.prototype members must behave like any other. */
let s: TestServer
const j = { 'content-type': 'application/json', ...auth('admin') }
const tricky = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']

beforeAll(async () => {
  s = await newServer('pglite')
})
afterAll(async () => {
  await s?.close()
})

it('groups and labels named like Object.prototype members stay in the tree, and such ids are not found', async () => {
  for (const name of tricky) {
    const g = await s.app.inject({ method: 'POST', url: '/api/groups', payload: { name }, headers: j })
    expect(g.statusCode, g.body).toBe(201)
    const sub = await s.app.inject({
      method: 'POST',
      url: '/api/groups',
      payload: { name: `${name} sub`, parentId: g.json().id },
      headers: j,
    })
    expect(sub.statusCode, sub.body).toBe(201)
  }
  const tree = (await s.app.inject({ method: 'GET', url: '/api/groups', headers: j })).json() as {
    groups: Array<{ name: string; children: Array<{ name: string }> }>
  }
  for (const name of tricky) {
    const g = tree.groups.find((x) => x.name === name)
    expect(g, name).toBeDefined()
    expect(g!.children.map((c) => c.name)).toEqual([`${name} sub`])
  }
  for (const id of tricky) {
    const del = await s.app.inject({ method: 'DELETE', url: `/api/groups/${id}`, headers: auth('admin') })
    expect(del.statusCode, `${id}: ${del.body}`).toBe(404)
    const patch = await s.app.inject({ method: 'PATCH', url: `/api/groups/${id}`, payload: { name: 'x' }, headers: j })
    expect(patch.statusCode, `${id}: ${patch.body}`).toBe(404)
    const label = await s.app.inject({
      method: 'POST',
      url: '/api/labels',
      payload: {
        name: 'in_bad_group',
        displayName: 'x',
        dataType: 'boolean',
        labelType: 'static',
        groupId: id,
        rule: { method: 'custom', values: [{ value: true, when: { attribute: 'city', op: 'is_set' } }] },
      },
      headers: j,
    })
    expect(label.statusCode, `${id}: ${label.body}`).toBe(422)
  }
  const unknown = await s.app.inject({ method: 'GET', url: '/api/labels/constructor', headers: j })
  expect(unknown.statusCode).toBe(404)
})

it('an attribute named __proto__ is ingested, listed in the schema and present in the data sample', async () => {
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson([{ user_id: 'u1', properties: JSON.parse('{"__proto__":"p","constructor":"c","city":"Paris"}') }]),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(r.statusCode, r.body).toBe(200)
  const schema = (await s.app.inject({ method: 'GET', url: '/api/data/schema', headers: j })).json() as {
    userAttributes: Array<{ name: string }>
  }
  expect(schema.userAttributes.map((a) => a.name).sort()).toEqual(['__proto__', 'city', 'constructor'])
  const sample = await s.engine.sample({ users: 10, seed: 1 })
  const user = (sample as unknown as { users: Array<{ properties: Record<string, unknown> }> }).users[0]!
  expect(Object.keys(user.properties).sort()).toEqual(['__proto__', 'city', 'constructor'])
  expect(Object.getOwnPropertyDescriptor(user.properties, '__proto__')?.value).toBe('p')
})
