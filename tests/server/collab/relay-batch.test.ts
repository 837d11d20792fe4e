import { expect, it } from 'vitest'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { LiveDoc, type UpdateSink } from '../../../server/collab/live-doc.ts'
import type { DocStore } from '../../../server/collab/index.ts'
import {
  createGroup,
  DEFAULT_GROUP_ID,
  DEFAULT_GROUP_NAME,
  type DocOrigin,
  groupsOf,
  renameGroup,
} from '../../../shared/doc/index.ts'

/** An in-memory store whose appends wait while `hold` is set: updates queue up meanwhile, as under load. */
function gatedStore() {
  const rows: Uint8Array[] = []
  let release: (() => void) | null = null
  let held: Promise<void> | null = null
  const store: DocStore = {
    load: async () => ({ snapshot: null, updates: [], lastSeq: 0 }),
    append: async (_w, u) => {
      if (held) await held
      rows.push(u)
      return rows.length
    },
    compact: async () => {},
  }
  return {
    store,
    rows,
    hold: () => {
      held = new Promise<void>((r) => (release = r))
    },
    release: () => {
      held = null
      release?.()
    },
  }
}

/** A socket stand-in: keeps the updates the server relays to it (y-websocket sync messages). */
function sink(connectionId: number) {
  const updates: Uint8Array[] = []
  const s: UpdateSink = {
    connectionId,
    sendUpdate(frame, origin) {
      if (origin.connectionId === connectionId) return
      const d = decoding.createDecoder(frame)
      expect(decoding.readVarUint(d)).toBe(0) // messageSync
      expect(decoding.readVarUint(d)).toBe(2) // messageYjsUpdate
      updates.push(decoding.readVarUint8Array(d))
    },
    send() {},
  }
  return { s, updates }
}

/** A client replica: its own updates go to the server with its connection id. */
function client(live: LiveDoc, connectionId: number) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(live.doc))
  const origin: DocOrigin = { kind: 'remote', actor: `op${connectionId}`, connectionId }
  doc.on('update', (u: Uint8Array, o: unknown) => {
    if (o !== 'relayed') expect(live.applyRemote(u, origin)).toBe('applied')
  })
  return doc
}

const names = (doc: Y.Doc) =>
  Object.fromEntries([...groupsOf(doc).entries()].map(([id, g]) => [id, (g as Y.Map<unknown>).get('name')]))

it('updates that queued while the store was busy reach each socket as one message, and every replica converges', async () => {
  const g = gatedStore()
  const live = await LiveDoc.load('main', { store: g.store })
  const me: DocOrigin = { kind: 'rest', actor: 'setup' }
  const ids = [createGroup(live.doc, { name: 'A' }, me).id, createGroup(live.doc, { name: 'B' }, me).id]
  await live.flushed()
  const sinks = [sink(1), sink(2), sink(3)]
  for (const x of sinks) live.subscribe(x.s)
  const [a, b, c] = [client(live, 1), client(live, 2), client(live, 3)]

  g.hold()
  renameGroup(a, ids[0]!, 'A1', me) // stored alone (the store is then held with it)
  renameGroup(a, ids[0]!, 'A2', me) // these three queue behind it: one batch of two senders
  renameGroup(b, ids[1]!, 'B1', me)
  renameGroup(a, ids[0]!, 'A3', me)
  g.release()
  await live.flushed()
  g.hold()
  renameGroup(b, ids[1]!, 'B2', me) // stored alone
  renameGroup(b, ids[1]!, 'B3', me) // a batch of one sender: not sent back to it
  renameGroup(b, ids[1]!, 'B4', me)
  g.release()
  await live.flushed()

  const [toA, toB, toC] = sinks.map((x) => x.updates)
  // The passive socket got 4 messages for 7 updates (one per update before: 7).
  expect(toC).toHaveLength(4)
  // A: B's batch of A2/B1/A3 (its own edits come back with B's), B2, the B3+B4 batch; never A1 alone.
  expect(toA).toHaveLength(3)
  // B: A1, the mixed batch; never its own B2 or B3+B4 batch.
  expect(toB).toHaveLength(2)
  for (const [doc, got] of [
    [a, toA],
    [b, toB],
    [c, toC],
  ] as const)
    for (const u of got!) Y.applyUpdate(doc!, u, 'relayed')
  const want = names(live.doc)
  expect(want[ids[0]!]).toBe('A3')
  expect(want[ids[1]!]).toBe('B4')
  for (const doc of [a, b, c]) expect(names(doc)).toEqual(want)
  // And the store holds everything once: a replica built from its rows equals the document.
  const replica = new Y.Doc()
  for (const u of g.rows) Y.applyUpdate(replica, u)
  expect(names(replica)).toEqual(want)
  await live.close()
})

it('a rename of a group skips the repair, except of the Default group, which is reset (and a move is still checked)', async () => {
  const live = await LiveDoc.load('main', { store: gatedStore().store })
  const me: DocOrigin = { kind: 'rest', actor: 'setup' }
  const g = createGroup(live.doc, { name: 'Plain' }, me).id
  await live.flushed()
  const a = client(live, 1)
  const raw = (id: string, key: string, value: unknown) =>
    a.transact(() => (groupsOf(a).get(id) as Y.Map<unknown>).set(key, value))
  raw(g, 'name', 'Plain, renamed')
  expect(names(live.doc)[g]).toBe('Plain, renamed')
  raw(DEFAULT_GROUP_ID, 'name', 'Renamed by hand') // bypasses the rules, as a raw client can
  expect(names(live.doc)[DEFAULT_GROUP_ID]).toBe(DEFAULT_GROUP_NAME)
  raw(g, 'parentId', 'no-such-group')
  expect((groupsOf(live.doc).get(g) as Y.Map<unknown>).get('parentId')).toBeNull()
  await live.close()
})
