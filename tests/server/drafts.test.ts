import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, expect, it } from 'vitest'
import * as Y from 'yjs'
import { editDraft, projectDrafts, updateDraft } from '../../shared/doc/index.ts'
import type { CustomRule } from '../../shared/schemas/rule.ts'
import { describeEachDb } from '../helpers/db.ts'
import { newClient, synced, until as untilSync, type TestClient } from './collab/helpers.ts'
import { auth, ndjson, newServer, tokens, until, type TestServer } from './helpers.ts'

const tier: CustomRule = {
  method: 'custom',
  values: [
    { value: 'big', when: { event: 'purchase', measure: { agg: 'sum', property: 'amount' }, op: 'gte', value: 30 } },
    { value: 'buyer', when: { event: 'purchase', op: 'gte', value: 1 } },
    { value: 'looker', when: { event: 'view', op: 'gte', value: 1 } },
  ],
  otherwise: 'none',
}

describeEachDb('shared drafts over HTTP and the collab socket', (kind) => {
  let s: TestServer
  let url = ''
  const clients: TestClient[] = []
  const inject = (o: InjectOptions) => s.app.inject(o)
  const runsOf = async (label: string) =>
    (await inject({ url: `/api/labels/${label}/runs`, headers: auth('viewer') })).json().runs as Array<{
      trigger: string
      status: string
    }>
  const label = async (name: string) => (await inject({ url: `/api/labels/${name}`, headers: auth('viewer') })).json()

  beforeAll(async () => {
    s = await newServer(kind)
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    url = `ws://127.0.0.1:${(s.app.server.address() as { port: number }).port}/collab`
    const users = Array.from({ length: 30 }, (_, i) => ({
      user_id: `u${i}`,
      properties: { city: i % 2 ? 'Paris' : 'Lyon' },
    }))
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/data/users',
          payload: ndjson(users),
          headers: { 'content-type': 'application/x-ndjson', ...auth('admin') },
        })
      ).statusCode,
    ).toBe(200)
    const events = ['user_id,event,time,amount']
    for (let i = 0; i < 30; i++) {
      for (let k = 0; k < i % 4; k++) events.push(`u${i},purchase,2026-01-0${k + 1}T10:00:00Z,${10 * (k + 1)}`)
      if (i % 3 === 0) events.push(`u${i},view,2026-01-05T10:00:00Z,`)
    }
    expect(
      (
        await inject({
          method: 'POST',
          url: '/api/data/events',
          payload: events.join('\n') + '\n',
          headers: { 'content-type': 'text/csv', ...auth('admin') },
        })
      ).statusCode,
    ).toBe(200)
    const created = await inject({
      method: 'POST',
      url: '/api/labels',
      headers: auth('editor'),
      payload: { name: 'tier', displayName: 'Tier', dataType: 'string', labelType: 'static', rule: tier },
    })
    expect(created.statusCode).toBe(201)
    await until(async () => (await runsOf('tier')).some((r) => r.trigger === 'create' && r.status === 'succeeded'))
  }, 120_000) // ingestion and a first calculation; slow on a busy 2-core machine
  afterAll(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    await s?.close()
  })

  it('documents the draft routes in the OpenAPI document', async () => {
    const docs = (await inject({ url: '/api/docs', headers: auth('viewer') })).json()
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining([
        '/api/drafts',
        '/api/drafts/{draft}',
        '/api/drafts/{draft}/publish',
        '/api/labels/{label}/draft',
      ]),
    )
    expect(Object.keys(docs.paths['/api/drafts/{draft}'])).toEqual(expect.arrayContaining(['get', 'patch', 'delete']))
  })

  it('opens one draft per label (a second open joins it), lists and reads it; viewers read but cannot open', async () => {
    expect(
      (await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'tier' }, headers: auth('viewer') }))
        .statusCode,
    ).toBe(403)
    const first = await inject({
      method: 'POST',
      url: '/api/drafts',
      payload: { labelId: 'tier' },
      headers: auth('editor'),
    })
    expect(first.statusCode).toBe(201)
    const d = first.json()
    expect(d).toMatchObject({
      labelId: (await label('tier')).id,
      createdBy: 'eve',
      changed: [],
      definition: { name: 'tier', rule: tier },
    })
    const again = await inject({
      method: 'POST',
      url: '/api/drafts',
      payload: { labelId: 'tier' },
      headers: auth('admin'),
    })
    expect(again.statusCode).toBe(200)
    expect(again.json().id).toBe(d.id)
    expect(
      (await inject({ url: '/api/drafts', headers: auth('viewer') })).json().drafts.map((x: { id: string }) => x.id),
    ).toEqual([d.id])
    expect((await inject({ url: '/api/labels/tier/draft', headers: auth('viewer') })).json().id).toBe(d.id)
    expect((await inject({ url: `/api/drafts/${d.id}`, headers: auth('viewer') })).statusCode).toBe(200)
    expect((await inject({ url: '/api/drafts/nope', headers: auth('viewer') })).statusCode).toBe(404)
    expect(
      (await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'nope' }, headers: auth('editor') }))
        .statusCode,
    ).toBe(404)
  })

  it('draft edits change neither the label nor its runs; an invalid rule is refused at publish with its path (422) and nothing changes', async () => {
    const id = (await inject({ url: '/api/labels/tier/draft', headers: auth('viewer') })).json().id
    const runsBefore = await runsOf('tier')
    const r = await inject({
      method: 'PATCH',
      url: `/api/drafts/${id}`,
      headers: auth('editor'),
      payload: {
        fields: { displayName: 'Tier (draft)' },
        edits: [{ op: 'set', path: '/rule/values/2/when/event', value: 'no_such_event' }],
      },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json().changed).toEqual(['displayName', 'rule'])
    expect(r.json().authors['/rule/values/2/when/event']).toBe('eve')
    await s.app.runQueue.idle()
    expect(await runsOf('tier')).toEqual(runsBefore)
    expect((await label('tier')).displayName).toBe('Tier')

    const bad = await inject({ method: 'POST', url: `/api/drafts/${id}/publish`, headers: auth('editor') })
    expect(bad.statusCode).toBe(422)
    expect(bad.json().error.path).toBe('/rule/values/2/when/event')
    expect((await label('tier')).displayName).toBe('Tier')
    expect((await inject({ url: `/api/drafts/${id}`, headers: auth('viewer') })).statusCode).toBe(200)

    const badPath = await inject({
      method: 'PATCH',
      url: `/api/drafts/${id}`,
      headers: auth('editor'),
      payload: {
        edits: [
          { op: 'set', path: '/rule/values/1/value', value: 'x' },
          { op: 'set', path: '/rule/values/9/value', value: 'y' },
        ],
      },
    })
    expect(badPath.statusCode).toBe(400)
    expect(
      (await inject({ url: `/api/drafts/${id}`, headers: auth('viewer') })).json().definition.rule.values[1].value,
    ).toBe('buyer') // all or nothing
  })

  it('publishing an edited rule updates the label in one step, deletes the draft and recalculates', async () => {
    const id = (await inject({ url: '/api/labels/tier/draft', headers: auth('viewer') })).json().id
    const fix = await inject({
      method: 'PATCH',
      url: `/api/drafts/${id}`,
      headers: auth('editor'),
      payload: {
        edits: [
          { op: 'set', path: '/rule/values/2/when/event', value: 'view' },
          { op: 'set', path: '/rule/values/2/value', value: 'visitor' },
        ],
      },
    })
    expect(fix.statusCode).toBe(200)
    const pub = await inject({ method: 'POST', url: `/api/drafts/${id}/publish`, headers: auth('editor') })
    expect(pub.statusCode).toBe(200)
    expect(pub.json()).toMatchObject({ name: 'tier', displayName: 'Tier (draft)' })
    expect(pub.json().rule.values[2]).toEqual({ value: 'visitor', when: { event: 'view', op: 'gte', value: 1 } })
    expect((await inject({ url: `/api/drafts/${id}`, headers: auth('viewer') })).statusCode).toBe(404)
    expect((await inject({ url: '/api/labels/tier/draft', headers: auth('viewer') })).statusCode).toBe(404)
    await until(async () => (await runsOf('tier')).some((r) => r.trigger === 'update' && r.status === 'succeeded'))
    const dist = (await inject({ url: '/api/labels/tier/distribution', headers: auth('viewer') })).json()
    expect(dist.items.map((i: { value: string }) => i.value)).toContain('visitor')
    const audit = (await inject({ url: '/api/audit?action=draft.publish', headers: auth('admin') })).json().entries
    expect(audit[0]).toMatchObject({ actor: 'eve', action: 'draft.publish' })
  })

  it('a new-label draft is published as a new label (calculated once); a discarded draft is gone and the label untouched', async () => {
    const open = await inject({
      method: 'POST',
      url: '/api/drafts',
      headers: auth('editor'),
      payload: {
        groupId: 'default',
        definition: {
          dataType: 'number',
          labelType: 'static',
          rule: { method: 'metric', event: 'purchase', measure: { agg: 'count' } },
        },
      },
    })
    expect(open.statusCode).toBe(201)
    const d = open.json()
    expect(d.labelId).toBeNull()
    const early = await inject({ method: 'POST', url: `/api/drafts/${d.id}/publish`, headers: auth('editor') })
    expect(early.statusCode).toBe(400) // no name yet
    expect(early.json().error.path).toMatch(/^\/(name|displayName)$/) // both are still empty
    await inject({
      method: 'PATCH',
      url: `/api/drafts/${d.id}`,
      headers: auth('editor'),
      payload: { fields: { name: 'purchases', displayName: 'Purchases' } },
    })
    const pub = await inject({ method: 'POST', url: `/api/drafts/${d.id}/publish`, headers: auth('editor') })
    expect(pub.statusCode).toBe(201)
    expect(pub.json()).toMatchObject({ name: 'purchases', dataType: 'number' })
    await until(async () => (await runsOf('purchases')).some((r) => r.trigger === 'create' && r.status === 'succeeded'))

    const other = (
      await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'purchases' }, headers: auth('editor') })
    ).json()
    await inject({
      method: 'PATCH',
      url: `/api/drafts/${other.id}`,
      headers: auth('editor'),
      payload: { fields: { displayName: 'Never published' } },
    })
    expect(
      (await inject({ method: 'DELETE', url: `/api/drafts/${other.id}`, headers: auth('editor') })).statusCode,
    ).toBe(204)
    expect((await inject({ url: `/api/drafts/${other.id}`, headers: auth('viewer') })).statusCode).toBe(404)
    expect((await label('purchases')).displayName).toBe('Purchases')
  })

  it('a read-modify-write with `base` keeps what another operator changed since the read; without it, fields are written as given', async () => {
    const id = (
      await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'tier' }, headers: auth('editor') })
    ).json().id
    const patch = (payload: object, who: 'editor' | 'admin') =>
      inject({ method: 'PATCH', url: `/api/drafts/${id}`, headers: auth(who), payload })
    const read = (await inject({ url: `/api/drafts/${id}`, headers: auth('viewer') })).json().definition
    // Another operator changes layer 3 and the description after eve's read.
    expect(
      (
        await patch(
          {
            fields: { description: 'from ada' },
            edits: [{ op: 'set', path: '/rule/values/2/value', value: 'browser' }],
          },
          'admin',
        )
      ).statusCode,
    ).toBe(200)
    // Eve writes back what she read with layer 1 changed (a read-modify-write), with her read as base.
    const mine = structuredClone(read.rule) as CustomRule
    mine.values[0]!.value = 'whale'
    const r = await patch(
      {
        fields: { rule: mine, description: read.description },
        base: { rule: read.rule, description: read.description },
      },
      'editor',
    )
    expect(r.statusCode).toBe(200)
    expect(r.json().definition.rule.values.map((l: { value: string }) => l.value)).toEqual([
      'whale',
      read.rule.values[1].value,
      'browser',
    ])
    expect(r.json().definition.description).toBe('from ada')
    expect(r.json().authors['/rule/values/2/value']).toBe('ada')
    // Without base the same request makes the fields equal to it: ada's changes are written over.
    const whole = await patch({ fields: { rule: mine, description: read.description } }, 'editor')
    expect(whole.json().definition.rule.values.map((l: { value: string }) => l.value)).toEqual([
      'whale',
      read.rule.values[1].value,
      read.rule.values[2].value,
    ])
    expect(whole.json().definition.description).toBe(read.description)
    // A base that is not a definition's fields is refused like `fields`.
    expect((await patch({ fields: { rule: mine }, base: { rule: 'x' } }, 'editor')).statusCode).toBe(400)
    expect((await inject({ method: 'DELETE', url: `/api/drafts/${id}`, headers: auth('editor') })).statusCode).toBe(204)
  })

  it('two y-websocket clients edit different layers of one draft at once; the published rule has both changes', async () => {
    const id = (
      await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'tier' }, headers: auth('editor') })
    ).json().id
    const a = newClient(url, tokens.editor),
      b = newClient(url, tokens.admin)
    clients.push(a, b)
    await Promise.all([synced(a), synced(b)])
    const ruleOf = (c: TestClient) => projectDrafts(c.doc).byId[id]?.definition.rule as CustomRule | undefined
    await untilSync(() => !!ruleOf(a) && !!ruleOf(b), 5000, 'draft on both clients')
    // Both edit before either sees the other's change: a whole-rule write and a path write.
    const fromA = structuredClone(ruleOf(a)!)
    fromA.values[0]!.value = 'whale'
    updateDraft(a.doc, id, { rule: fromA }, { kind: 'local', actor: 'eve' })
    editDraft(b.doc, id, [{ op: 'set', path: '/rule/values/1/when/value', value: 2 }], { kind: 'local', actor: 'ada' })
    const both = (c: TestClient) =>
      ruleOf(c)?.values[0]?.value === 'whale' &&
      (ruleOf(c)?.values[1]?.when as { value: number } | undefined)?.value === 2
    await untilSync(() => both(a) && both(b), 5000, 'both edits on both clients')
    await until(async () => {
      const d = (await inject({ url: `/api/drafts/${id}`, headers: auth('viewer') })).json()
      return d.definition.rule.values[0].value === 'whale' && d.definition.rule.values[1].when.value === 2
    })
    await s.app.runQueue.idle()
    const before = (await runsOf('tier')).length
    expect(
      (await inject({ method: 'POST', url: `/api/drafts/${id}/publish`, headers: auth('editor') })).statusCode,
    ).toBe(200)
    const rule = (await label('tier')).rule as CustomRule
    expect(rule.values[0]!.value).toBe('whale')
    expect(rule.values[1]!.when).toEqual({ event: 'purchase', op: 'gte', value: 2 })
    expect(rule.values[2]!.value).toBe('visitor')
    await untilSync(
      () => !projectDrafts(a.doc).byId[id] && !projectDrafts(b.doc).byId[id],
      5000,
      'draft gone on both clients',
    )
    await until(async () => (await runsOf('tier')).length > before)
  })

  it('opens a given definition of a label as its draft (restore a version): the published definition stays its base', async () => {
    const old = { displayName: 'Tier (restored)', rule: tier }
    const r = await inject({
      method: 'POST',
      url: '/api/drafts',
      payload: { labelId: 'tier', definition: old },
      headers: auth('editor'),
    })
    expect(r.statusCode).toBe(201)
    expect(r.json().definition).toMatchObject(old)
    expect(r.json().base.displayName).toBe('Tier (draft)')
    expect(r.json().changed).toEqual(['displayName', 'rule'])
    expect(
      (await inject({ method: 'DELETE', url: `/api/drafts/${r.json().id}`, headers: auth('editor') })).statusCode,
    ).toBe(204)
  })

  it("publishing with the browser's state vector waits for its last edit to arrive over the socket", async () => {
    const id = (
      await inject({ method: 'POST', url: '/api/drafts', payload: { labelId: 'tier' }, headers: auth('editor') })
    ).json().id
    const c = newClient(url, tokens.editor)
    clients.push(c)
    await synced(c)
    await untilSync(() => !!projectDrafts(c.doc).byId[id], 5000, 'draft on the client')
    editDraft(c.doc, id, [{ op: 'set', path: '/description', value: 'typed just before Publish' }], {
      kind: 'local',
      actor: 'eve',
    })
    const after = Buffer.from(Y.encodeStateVector(c.doc)).toString('base64')
    const pub = await inject({
      method: 'POST',
      url: `/api/drafts/${id}/publish`,
      headers: auth('editor'),
      payload: { after },
    })
    expect(pub.statusCode).toBe(200)
    expect(pub.json().description).toBe('typed just before Publish')
  })
})
