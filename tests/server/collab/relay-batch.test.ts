import { afterEach, expect, it, vi } from 'vitest'
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
  // The store's batching alone (relay pacing off: it would merge these relays further).
  const live = await LiveDoc.load('main', { store: g.store, relayHoldMs: 0 })
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

afterEach(() => {
  vi.useRealTimers()
})

/**
 * Relay pacing: one operator renames a group 20 times, 1 ms apart, each update stored alone.
 * Returns the messages the second socket got, what the sender got, and whether every replica converged.
 */
async function pacedRenames(sockets: number, relayHoldMs: number | undefined) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  const g = gatedStore()
  const live = await LiveDoc.load('main', { store: g.store, ...(relayHoldMs === undefined ? {} : { relayHoldMs }) })
  const me: DocOrigin = { kind: 'rest', actor: 'setup' }
  const id = createGroup(live.doc, { name: 'A' }, me).id
  await live.flushed()
  await vi.advanceTimersByTimeAsync(100)
  const sinks = Array.from({ length: sockets }, (_, i) => sink(i + 1))
  for (const x of sinks) live.subscribe(x.s)
  const sender = client(live, 1)
  const observer = client(live, 2)
  for (let i = 1; i <= 20; i++) {
    renameGroup(sender, id, `A${i}`, me)
    await live.flushed()
    await vi.advanceTimersByTimeAsync(1)
  }
  await vi.advanceTimersByTimeAsync(100)
  const toObserver = sinks[1]!.updates
  for (const u of toObserver) Y.applyUpdate(observer, u, 'relayed')
  const converged = names(observer)[id] === 'A20' && names(live.doc)[id] === 'A20'
  vi.useRealTimers()
  await live.close()
  return { toObserver: toObserver.length, toSender: sinks[0]!.updates.length, converged }
}

it('with many sockets, updates stored in quick succession are relayed together, at most relayHoldMs late', async () => {
  // 50 sockets: a gap of 10 ms between relays (5,000 socket writes a second): the first rename at
  // once, the next nine at 10 ms, the last ten at 20 ms.
  const paced = await pacedRenames(50, undefined)
  expect(paced).toEqual({ toObserver: 3, toSender: 0, converged: true })
  // A cap of 4 ms: a relay every 4 ms at most.
  const capped = await pacedRenames(50, 4)
  expect(capped.converged).toBe(true)
  expect(capped.toObserver).toBeGreaterThanOrEqual(5)
  expect(capped.toObserver).toBeLessThanOrEqual(7)
  // Pacing off: each stored update goes alone.
  expect(await pacedRenames(50, 0)).toEqual({ toObserver: 20, toSender: 0, converged: true })
  // A few sockets (2: a gap of 0.4 ms): every update at once.
  expect(await pacedRenames(2, undefined)).toEqual({ toObserver: 20, toSender: 0, converged: true })
})
