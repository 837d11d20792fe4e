import { readdir } from 'node:fs/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import type * as Y from 'yjs'
import { createLabel, projectWorkspace } from '../../shared/doc/index.ts'
import { newClient, synced, until as untilSync, type TestClient } from './collab/helpers.ts'
import { auth, ndjson, newServer, tokens, until, type TestServer } from './helpers.ts'

// The full app with the settings main.ts reads from LABELS_COLLAB_UNLOAD_MS and LABELS_AUDIT_*.
let s: TestServer
let url = ''
const clients: TestClient[] = []
const client = (workspace: string) => {
  const c = newClient(url, tokens.editor, workspace)
  clients.push(c)
  return c
}
const drop = (c: TestClient) => (c.destroy(), clients.splice(clients.indexOf(c), 1))
const names = (d: Y.Doc) =>
  projectWorkspace(d)
    .labels.map((l) => l.name)
    .sort()
const cityLabel = (name: string) => ({
  name,
  displayName: name,
  dataType: 'string',
  labelType: 'static',
  rule: {
    method: 'custom',
    values: [{ value: 'capital', when: { attribute: 'city', op: 'in', value: ['Paris'] } }],
    otherwise: 'other',
  },
})

beforeAll(async () => {
  s = await newServer('pglite', { collabUnloadMs: 150, audit: { maxBytes: 2048, keep: 50 } })
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  url = `ws://127.0.0.1:${(s.app.server.address() as { port: number }).port}/collab`
  const users = [
    { user_id: 'u1', properties: { city: 'Paris' } },
    { user_id: 'u2', properties: { city: 'Oslo' } },
  ]
  const r = await s.app.inject({
    method: 'POST',
    url: '/api/data/users',
    payload: ndjson(users),
    headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
  })
  expect(r.statusCode).toBe(200)
})
afterAll(async () => {
  clients.splice(0).forEach((c) => c.destroy())
  await s?.close()
})

it('refuses rooms other than `main` (4404, nothing stored); `main` stays loaded with no connection; REST edits reach WebSocket clients', async () => {
  const refused = new WebSocket(`${url}/scratch?token=${tokens.editor}`)
  const code = await new Promise<number>((resolve) => refused.on('close', (c) => resolve(c)))
  expect(code).toBe(4404)
  const a = client('main')
  await synced(a)
  createLabel(a.doc, cityLabel('from_browser') as never, { kind: 'local', actor: 'eve' })
  await until(
    async () => (await s.app.inject({ url: '/api/labels/from_browser', headers: auth('viewer') })).statusCode === 200,
  )
  drop(a)
  await new Promise((r) => setTimeout(r, 500)) // past the 150 ms grace period
  expect(s.app.collabStats).toMatchObject({ connections: 0, documents: 1, unloadedDocuments: 0 }) // main is pinned

  const created = await s.app.inject({
    method: 'POST',
    url: '/api/labels',
    payload: cityLabel('from_rest'),
    headers: auth('editor'),
  })
  expect(created.statusCode).toBe(201)
  // The engine hook still hears REST changes: the new label is calculated.
  await until(
    async () =>
      (await s.app.inject({ url: '/api/labels/from_rest', headers: auth('viewer') })).json().lastRun?.status ===
      'succeeded',
  )

  const c = client('main')
  await synced(c)
  expect(names(c.doc)).toEqual(['from_browser', 'from_rest'])
  const patched = await s.app.inject({
    method: 'PATCH',
    url: '/api/labels/from_rest',
    payload: { displayName: 'Renamed over REST' },
    headers: auth('editor'),
  })
  expect(patched.statusCode).toBe(200)
  await untilSync(
    () => projectWorkspace(c.doc).labels.some((l) => l.displayName === 'Renamed over REST'),
    5000,
    'live REST edit',
  )
})

it('GET /api/audit reads entries across rotated audit files, in order', async () => {
  for (let i = 0; i < 30; i++) {
    const r = await s.app.inject({
      method: 'POST',
      url: '/api/groups',
      payload: { name: `g${i}` },
      headers: auth('editor'),
    })
    expect(r.statusCode).toBe(201)
  }
  // Requests are audited just after their response: wait for the last one.
  const entries = await until(async () => {
    const e = (await s.app.inject({ url: '/api/audit?action=group.create&limit=1000', headers: auth('admin') })).json()
      .entries as Array<{ action: string }>
    return e.length >= 30 ? e : null
  })
  expect(entries).toHaveLength(30)
  const all = await s.app.audit.list({ action: 'group.create', limit: 1000 })
  expect(all.map((e) => (e.details as { name: string }).name)).toEqual(
    Array.from({ length: 30 }, (_, i) => `g${29 - i}`),
  )
  const files = (await readdir(s.dataDir)).filter((f) => f.startsWith('audit')) // list() waited for every append
  expect(files).toContain('audit.1.jsonl')
})
