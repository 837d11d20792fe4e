import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import {
  createGroup,
  createLabel,
  groupsOf,
  labelsOf,
  projectWorkspace,
  type DocOrigin,
} from '../../../shared/doc/index.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newClient, newCollabServer, synced, until, type TestClient, type TestServer } from './helpers.ts'

// A client writing the document directly skipped the label field rules REST applies (SPEC §4):
// the API then served a label named "Bad Name!" with an empty display name (a black-box audit,
// 2026-12-06). The server now restores a refused field's earlier value, or removes a new label
// with a refused field, in the transaction that applies the update (shared/doc/label-guard.ts);
// every replica, the writer's included, converges on that. Stock y-websocket clients, real sockets.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

const as = (actor: string): DocOrigin => ({ kind: 'local', actor })
const entry = (doc: Y.Doc, id: string) => labelsOf(doc).get(id) as Y.Map<unknown> | undefined
let serverDoc: Y.Doc
const serverLabel = (id: string) => projectWorkspace(serverDoc).labels.find((l) => l.id === id)

describeEachDb('collab: label fields written over the socket are checked as REST checks them', (kind) => {
  let db: TestDb
  let server: TestServer
  let clients: TestClient[] = []
  let alice: TestClient, bob: TestClient
  let tierId: string
  beforeEach(async () => {
    db = await newDb(kind)
    server = await newCollabServer(db)
    alice = newClient(server.url, 'ed1')
    bob = newClient(server.url, 'ed2')
    clients = [alice, bob]
    await Promise.all(clients.map(synced))
    serverDoc = (await server.registry.get('main')).doc
    tierId = createLabel(alice.doc, labelInput('tier'), as('alice')).id
    await until(() => entry(bob.doc, tierId) !== undefined, 30_000, 'the label at bob')
  })
  afterEach(async () => {
    clients.forEach((c) => c.destroy())
    await server.close()
    await db.dispose()
  })

  it('restores the earlier value of a refused field, at the writer too; a valid edit in the same update stays', async () => {
    alice.doc.transact(() => {
      const m = entry(alice.doc, tierId)!
      m.set('name', 'Bad Name!')
      m.set('displayName', '')
      m.set('rule', { method: 'nope' })
      m.set('description', 'kept: a valid edit')
    })
    for (const c of clients)
      await until(
        () => entry(c.doc, tierId)?.get('name') === 'tier' && entry(c.doc, tierId)?.get('displayName') === 'TIER',
        30_000,
        'the restored fields',
      )
    for (const doc of [alice.doc, bob.doc, serverDoc]) {
      const l = projectWorkspace(doc).labels.find((x) => x.id === tierId)!
      expect(l).toMatchObject({ name: 'tier', displayName: 'TIER', description: 'kept: a valid edit' })
      expect(l.rule).toMatchObject({ method: 'metric' })
    }
    // A later valid rename still goes through.
    entry(bob.doc, tierId)!.set('name', 'tier_two')
    await until(() => serverLabel(tierId)?.name === 'tier_two', 30_000, 'the rename at the server')
    await until(() => entry(alice.doc, tierId)?.get('name') === 'tier_two', 30_000, 'the rename at alice')
  })

  it('removes a label created with a refused or missing field, at the writer too; a valid one stays', async () => {
    const bad = new Y.Map<unknown>()
    const good = new Y.Map<unknown>()
    alice.doc.transact(() => {
      for (const [id, m, fields] of [
        ['l_bad', bad, { name: 'Bad Name!', displayName: '' }],
        ['l_good', good, { name: 'good_one', displayName: 'Good' }],
      ] as const) {
        labelsOf(alice.doc).set(id, m)
        const base = { id, groupId: 'default', order: 'a0', dataType: 'number', labelType: 'static' }
        for (const [k, v] of Object.entries({ ...base, ...fields })) m.set(k, v)
        m.set('schedule', { kind: 'once' })
        m.set('rule', { method: 'metric', event: 'purchase', measure: { agg: 'count' } })
      }
    })
    await until(() => serverLabel('l_good')?.name === 'good_one', 30_000, 'the valid label at the server')
    await until(() => entry(alice.doc, 'l_bad') === undefined, 30_000, 'the refused label gone at alice')
    await until(() => entry(bob.doc, 'l_good') !== undefined, 30_000, 'the valid label at bob')
    expect(entry(bob.doc, 'l_bad')).toBeUndefined()
    expect(serverLabel('l_bad')).toBeUndefined()
    // A label missing a required field (no rule) is refused the same way.
    const partial = new Y.Map<unknown>()
    bob.doc.transact(() => {
      labelsOf(bob.doc).set('l_partial', partial)
      for (const [k, v] of Object.entries({ id: 'l_partial', name: 'partial', displayName: 'P', groupId: 'default' }))
        partial.set(k, v)
      partial.set('dataType', 'number')
      partial.set('labelType', 'static')
    })
    await until(() => entry(bob.doc, 'l_partial') === undefined, 30_000, 'the partial label gone at bob')
    expect(serverLabel('l_partial')).toBeUndefined()
    expect(serverLabel('l_good')).toMatchObject({ name: 'good_one', displayName: 'Good' })
  })

  it("checks a group's name as REST does: a refused rename is restored, a new group with a refused name removed", async () => {
    // REST refuses an empty, blank or 101-character group name; over the socket they were kept and
    // served (`""`, or the id for a non-string name). Second black-box audit, 2026-12-06.
    const group = (doc: Y.Doc, id: string) => groupsOf(doc).get(id) as Y.Map<unknown> | undefined
    const serverGroup = (id: string) => projectWorkspace(serverDoc).groups.find((g) => g.id === id)
    const made = createGroup(alice.doc, { name: 'Lifecycle' }, as('alice'))
    await until(() => serverGroup(made.id)?.name === 'Lifecycle', 30_000, 'the group at the server')
    for (const bad of ['', '   ', 'x'.repeat(101), 42]) {
      group(alice.doc, made.id)!.set('name', bad)
      await until(
        () => group(alice.doc, made.id)?.get('name') === 'Lifecycle',
        30_000,
        `${String(bad)} restored at alice`,
      )
    }
    const fresh = new Y.Map<unknown>()
    const ok = new Y.Map<unknown>()
    bob.doc.transact(() => {
      groupsOf(bob.doc).set('g_blank', fresh)
      for (const [k, v] of Object.entries({ id: 'g_blank', name: '', parentId: null, order: 'b0' })) fresh.set(k, v)
      groupsOf(bob.doc).set('g_fine', ok)
      for (const [k, v] of Object.entries({ id: 'g_fine', name: 'Fine', parentId: null, order: 'b1' })) ok.set(k, v)
    })
    await until(() => serverGroup('g_fine')?.name === 'Fine', 30_000, 'the valid group at the server')
    await until(() => group(bob.doc, 'g_blank') === undefined, 30_000, 'the refused group gone at bob')
    expect(serverGroup('g_blank')).toBeUndefined()
    expect(serverGroup(made.id)?.name).toBe('Lifecycle')
    // A valid rename goes through.
    group(bob.doc, made.id)!.set('name', 'Life cycle')
    await until(() => serverGroup(made.id)?.name === 'Life cycle', 30_000, 'the rename at the server')
  })
})
