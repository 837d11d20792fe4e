import { afterEach, beforeEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import {
  CollabClose,
  createGroup,
  createLabel,
  DEFAULT_GROUP_ID,
  groupsOf,
  labelsOf,
  moveGroup,
  projectWorkspace,
  entryOf,
} from '../../../shared/doc/index.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { comparable, expectInvariants } from '../../shared/doc/invariants.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newClient, newCollabServer, rawSocket, synced, until, type TestClient, type TestServer } from './helpers.ts'

const me = (actor: string) => ({ kind: 'local' as const, actor })

describeEachDb('collab endpoint', (kind) => {
  let db: TestDb
  let server: TestServer
  const clients: TestClient[] = []
  const client = (token: string, ws = 'main') => {
    const c = newClient(server.url, token, ws)
    clients.push(c)
    return c
  }

  beforeEach(async () => {
    db = await newDb(kind)
    server = await newCollabServer(db)
  })
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    await server.close()
    await db.dispose()
  })

  it('the stock y-websocket client syncs the server-created Default group and sees other operators live', async () => {
    const a = client('ed1'),
      b = client('ed2')
    await Promise.all([synced(a), synced(b)])
    expect(projectWorkspace(a.doc).groups.map((g) => g.id)).toEqual([DEFAULT_GROUP_ID])
    expect(entryOf(groupsOf(a.doc), DEFAULT_GROUP_ID)).toBeDefined() // real entry, not the projection's stand-in
    const g = createGroup(a.doc, { name: 'Campaigns' }, me('alice'))
    createLabel(a.doc, labelInput('vip', { groupId: g.id }), me('alice'))
    await until(() => projectWorkspace(b.doc).labels.length === 1, 5000, 'label at b')
    expect(comparable(projectWorkspace(b.doc))).toEqual(comparable(projectWorkspace(a.doc)))
    const live = await server.registry.get('main')
    expect(comparable(projectWorkspace(live.doc))).toEqual(comparable(projectWorkspace(a.doc)))
  })

  it('REST-style writes through the registry reach every connected operator', async () => {
    const a = client('ed1')
    await synced(a)
    const live = await server.registry.get('main')
    createLabel(live.doc, labelInput('from_rest'), { kind: 'rest', actor: 'api' })
    await live.flushed()
    await until(() => projectWorkspace(a.doc).labels.some((l) => l.name === 'from_rest'), 5000, 'rest label')
  })

  it('repairs a raw write that pushes a group with subgroups under another group: the subgroups go first-level', async () => {
    const a = client('ed1'),
      b = client('ed2')
    await Promise.all([synced(a), synced(b)])
    const p = createGroup(a.doc, { name: 'P' }, me('alice'))
    const q = createGroup(a.doc, { name: 'Q' }, me('alice'))
    const q1 = createGroup(a.doc, { name: 'Q1', parentId: q.id }, me('alice'))
    a.doc.transact(() => entryOf(groupsOf(a.doc), q.id)!.set('parentId', p.id)) // bypasses the rules
    // Q goes under P; Q1, whose parent is no longer a valid first-level group, is made first-level
    // (SPEC §3's example), and the server writes that back.
    await until(() => entryOf(groupsOf(b.doc), q1.id)?.get('parentId') === null, 5000, 'repair reaches b')
    expect(entryOf(groupsOf(a.doc), q1.id)?.get('parentId')).toBeNull()
    expect(entryOf(groupsOf(b.doc), q.id)?.get('parentId')).toBe(p.id)
    expect(projectWorkspace(b.doc).groupsById[q.id]?.parentId).toBe(p.id)
    expectInvariants(b.doc)
    expect(projectWorkspace(b.doc).repairs).toEqual([])
  })

  it('refuses viewer edits per connection but keeps the viewer connected and reading', async () => {
    const v = client('view'),
      e = client('ed1')
    await Promise.all([synced(v), synced(e)])
    createGroup(v.doc, { name: 'Sneaky' }, me('vera'))
    createGroup(e.doc, { name: 'Legit' }, me('alice'))
    await until(
      () => Object.values(projectWorkspace(v.doc).groupsById).some((g) => g.name === 'Legit'),
      5000,
      'viewer reads',
    )
    const live = await server.registry.get('main')
    await live.flushed()
    const names = Object.values(projectWorkspace(live.doc).groupsById)
      .map((g) => g.name)
      .sort()
    expect(names).toEqual(['Default', 'Legit'])
    expect(v.provider.wsconnected).toBe(true)
    expect(Object.values(projectWorkspace(e.doc).groupsById).some((g) => g.name === 'Sneaky')).toBe(false)
  })

  it('relays awareness: who is online and what they edit; removes it when they leave', async () => {
    const a = client('ed1'),
      b = client('view')
    await Promise.all([synced(a), synced(b)])
    a.provider.awareness.setLocalState({
      user: { name: 'alice', role: 'editor', color: '#f00' },
      editing: { kind: 'label', id: 'l1' },
      dragging: null,
    })
    await until(
      () =>
        [...b.provider.awareness.getStates().values()].some(
          (s) => (s as { editing?: { id: string } }).editing?.id === 'l1',
        ),
      5000,
      'awareness at b',
    )
    a.provider.disconnect()
    await until(() => !b.provider.awareness.getStates().has(a.doc.clientID), 5000, 'awareness removed')
  })

  it('closes with 4401 before loading any document when the token is bad or missing', async () => {
    const bad = await rawSocket(`${server.url}/main?token=nope`)
    expect((await bad.closed).code).toBe(CollabClose.unauthorized)
    const none = await rawSocket(`${server.url}/main`)
    expect((await none.closed).code).toBe(CollabClose.unauthorized)
    expect(server.registry.size).toBe(0)
    const c = client('nope', 'other')
    const closed = await new Promise<{ code: number }>((r) => c.provider.on('closed', (ev: { code: number }) => r(ev)))
    expect(closed.code).toBe(4401)
    expect(c.provider.shouldConnect).toBe(false) // the stock client gives up, as it should
  })

  it('closes with 4404 for a workspace the allowWorkspace hook refuses, without loading it', async () => {
    const s = await rawSocket(`${server.url}/forbidden?token=ed1`)
    expect((await s.closed).code).toBe(CollabClose.notFound)
    const bad = await rawSocket(`${server.url}/${'x'.repeat(65)}?token=ed1`)
    expect((await bad.closed).code).toBe(CollabClose.notFound)
    expect(server.registry.size).toBe(0)
  })

  it('a flood of unauthenticated connections loads no document and does not grow memory', async () => {
    const before = process.memoryUsage().heapUsed
    for (let round = 0; round < 5; round++) {
      const socks = await Promise.all(
        Array.from({ length: 100 }, (_, i) => rawSocket(`${server.url}/ws${i}?token=bad${i}`)),
      )
      await Promise.all(socks.map((s) => s.closed))
    }
    global.gc?.()
    expect(server.registry.size).toBe(0)
    expect(server.app.collabStats.refusedAuth).toBe(500)
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024)
  })

  it('closes on oversized frames (4413) and malformed frames (4400) without touching the document', async () => {
    const a = client('ed1')
    await synced(a)
    createGroup(a.doc, { name: 'Keep' }, me('alice'))
    const live = await server.registry.get('main')
    await until(() => Object.keys(projectWorkspace(live.doc).groupsById).length === 2)
    const before = Y.encodeStateAsUpdate(live.doc)

    const big = await rawSocket(`${server.url}/main?token=ed1`)
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    encoding.writeVarUint(e, 2)
    encoding.writeVarUint8Array(e, new Uint8Array(1024 * 1024 + 10))
    big.ws.send(encoding.toUint8Array(e))
    expect((await big.closed).code).toBe(CollabClose.tooLarge)

    const frames: Array<Uint8Array | string> = [
      'text frame',
      new Uint8Array([0, 2, 50, 1, 2, 3]), // update length beyond the frame
      new Uint8Array([0, 2, 5, 1, 2, 3, 4, 5]), // an update that doesn't decode
      new Uint8Array([9]), // unknown message type
      new Uint8Array([1, 3, 1, 2, 3]), // awareness that doesn't decode
      new Uint8Array([0, 0, 1, 0, 7]), // trailing bytes
    ]
    // and a well-formed update that writes a root type outside the document shape
    const junk = new Y.Doc()
    junk.getText('junk').insert(0, 'x')
    const je = encoding.createEncoder()
    encoding.writeVarUint(je, 0)
    encoding.writeVarUint(je, 2)
    encoding.writeVarUint8Array(je, Y.encodeStateAsUpdate(junk))
    frames.push(encoding.toUint8Array(je))
    for (const f of frames) {
      const s = await rawSocket(`${server.url}/main?token=ed1`)
      s.ws.send(f)
      expect((await s.closed).code, String(f)).toBe(CollabClose.malformed)
    }
    expect(Buffer.from(Y.encodeStateAsUpdate(live.doc)).equals(Buffer.from(before))).toBe(true)
    expect(live.doc.share.has('junk')).toBe(false)
    expect(a.provider.wsconnected).toBe(true)
  })

  it('reports created, updated and deleted labels to onDocChange after storing, for every source', async () => {
    await server.close()
    const seen: Array<{ c: unknown; kind: string }> = []
    server = await newCollabServer(db, { onDocChange: (_w, c, o) => void seen.push({ c, kind: o.kind }) })
    const a = client('ed1')
    await synced(a)
    const l = createLabel(a.doc, labelInput('x'), me('alice'))
    await until(() => seen.length === 1)
    expect(seen[0]).toEqual({ c: { created: [l.id], updated: [], deleted: [] }, kind: 'remote' })
    const live = await server.registry.get('main')
    labelsOf(live.doc).get(l.id) // REST path
    const { updateLabel, deleteLabel } = await import('../../../shared/doc/index.ts')
    updateLabel(live.doc, l.id, { displayName: 'Y' }, { kind: 'rest', actor: 'api' })
    await until(() => seen.length === 2)
    expect(seen[1]).toEqual({ c: { created: [], updated: [l.id], deleted: [] }, kind: 'rest' })
    deleteLabel(a.doc, l.id, me('alice'))
    await until(() => seen.length === 3)
    expect(seen[2]).toEqual({ c: { created: [], updated: [], deleted: [l.id] }, kind: 'remote' })
  })

  it('concurrent group moves from two real clients converge without a cycle', async () => {
    const a = client('ed1'),
      b = client('ed2')
    await Promise.all([synced(a), synced(b)])
    const g1 = createGroup(a.doc, { name: 'G1' }, me('alice'))
    const g2 = createGroup(a.doc, { name: 'G2' }, me('alice'))
    await until(() => Object.keys(projectWorkspace(b.doc).groupsById).length === 3)
    a.provider.disconnect()
    b.provider.disconnect()
    moveGroup(a.doc, g1.id, { parentId: g2.id }, me('alice'))
    moveGroup(b.doc, g2.id, { parentId: g1.id }, me('bob'))
    a.provider.connect()
    b.provider.connect()
    await Promise.all([synced(a), synced(b)])
    await until(
      () =>
        JSON.stringify(comparable(projectWorkspace(a.doc))) === JSON.stringify(comparable(projectWorkspace(b.doc))) &&
        projectWorkspace(a.doc).repairs.length === 0,
      5000,
      'convergence',
    )
    expect(projectWorkspace(a.doc).groups.every((g) => g.children.length === 0)).toBe(true)
    expectInvariants(a.doc)
  })
})
