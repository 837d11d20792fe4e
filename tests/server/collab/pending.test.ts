import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { CollabClose } from '../../../shared/doc/index.ts'
import { holdsPending } from '../../../shared/doc/update-deps.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { newClient, newCollabServer, rawSocket, synced, until, type TestServer } from './helpers.ts'

/** y-websocket sync frame: [0, sub, payload]. sub 0 = step 1, 1 = step 2, 2 = update. */
const syncFrame = (sub: number, payload: Uint8Array) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  encoding.writeVarUint(e, sub)
  encoding.writeVarUint8Array(e, payload)
  return encoding.toUint8Array(e)
}

/** The sync messages a raw socket received, decoded. */
const syncMessages = (messages: Uint8Array[]) =>
  messages.flatMap((m) => {
    const d = decoding.createDecoder(m)
    if (decoding.readVarUint(d) !== 0) return []
    return [{ sub: decoding.readVarUint(d), payload: decoding.readVarUint8Array(d), bytes: m.byteLength }]
  })

/** A client doc writing `n` updates of ~`size` bytes each into the meta map; returns each update. */
function updatesOf(n: number, size: number, clientID = 777): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const updates: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => updates.push(u))
  for (let i = 0; i < n; i++) doc.getMap('meta').set(`junk${i}`, String(i % 10).repeat(size))
  return { doc, updates }
}

// The shared 2-core machine can be slow: ceilings, not timings.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

describeEachDb('collab: updates that can never be integrated', (kind) => {
  let db: TestDb
  let server: TestServer
  beforeEach(async () => {
    db = await newDb(kind)
    server = await newCollabServer(db)
  })
  afterEach(async () => {
    await server.close()
    await db.dispose()
  })

  it('100 updates depending on never-sent ones are dropped: no pending structs, small snapshot and sync step', async () => {
    const s = await rawSocket(`${server.url}/main?token=ed1`)
    await until(() => syncMessages(s.messages).some((m) => m.sub === 0), 30_000, 'server step 1')
    // Every other update is withheld: each sent one depends on the one before it.
    const { updates } = updatesOf(200, 10_000)
    for (let i = 1; i < 200; i += 2) s.ws.send(syncFrame(2, updates[i]!))
    // Frames are handled in order: the answer to this step 1 comes after all of the above.
    s.ws.send(syncFrame(0, Y.encodeStateVector(new Y.Doc())))
    await until(() => syncMessages(s.messages).some((m) => m.sub === 1), 30_000, 'step 2 answer')

    const live = await server.registry.get('main')
    expect(holdsPending(live.doc)).toBe(false)
    expect(Y.encodeStateAsUpdate(live.doc).byteLength).toBeLessThan(5_000)
    // The sender was asked once to resend what the server lacks (its step 1).
    expect(syncMessages(s.messages).filter((m) => m.sub === 0)).toHaveLength(2)

    // A new client's sync step 2 is small.
    const fresh = await rawSocket(`${server.url}/main?token=ed2`)
    fresh.ws.send(syncFrame(0, Y.encodeStateVector(new Y.Doc())))
    await until(() => syncMessages(fresh.messages).some((m) => m.sub === 1), 30_000, 'fresh step 2')
    expect(syncMessages(fresh.messages).find((m) => m.sub === 1)!.bytes).toBeLessThan(5_000)
    // And so is what is stored (final snapshot at close).
    s.ws.close()
    fresh.ws.close()
    await server.close()
    const stored = await db.query<{ n: number }>(
      `SELECT (SELECT coalesce(sum(length(snapshot)), 0) FROM collab_snapshots) + (SELECT coalesce(sum(length(update)), 0) FROM collab_updates) AS n`,
    )
    expect(Number(stored.rows[0]!.n)).toBeLessThan(5_000)
    server = await newCollabServer(db)
    const again = await server.registry.get('main')
    expect(again.doc.getMap('meta').has('junk1')).toBe(false)
  })

  it('an update that arrives before the one it depends on is recovered: the server asks, the client resends', async () => {
    const s = await rawSocket(`${server.url}/main?token=ed1`)
    await until(() => syncMessages(s.messages).some((m) => m.sub === 0), 30_000, 'server step 1')
    const { doc, updates } = updatesOf(2, 100)
    s.ws.send(syncFrame(2, updates[1]!)) // update 0 not sent (yet)
    await until(() => syncMessages(s.messages).filter((m) => m.sub === 0).length === 2, 30_000, 'resync step 1')
    const sv = syncMessages(s.messages).filter((m) => m.sub === 0)[1]!.payload
    s.ws.send(syncFrame(1, Y.encodeStateAsUpdate(doc, sv))) // what a y-websocket client answers
    const live = await server.registry.get('main')
    await until(
      () => live.doc.getMap('meta').has('junk0') && live.doc.getMap('meta').has('junk1'),
      30_000,
      'both updates',
    )
    expect(holdsPending(live.doc)).toBe(false)
    s.ws.close()
  })

  it('a client whose sync step 2 answers stay incomplete is closed with 4400, and a stock client keeps working', async () => {
    const s = await rawSocket(`${server.url}/main?token=ed1`)
    const { updates } = updatesOf(2, 100)
    for (let i = 0; i < 3; i++) s.ws.send(syncFrame(1, updates[1]!))
    expect((await s.closed).code).toBe(CollabClose.malformed)
    const c = newClient(server.url, 'ed2')
    await synced(c)
    c.doc.getMap('meta').set('ok', 1)
    const live = await server.registry.get('main')
    await until(() => live.doc.getMap('meta').get('ok') === 1, 30_000, 'stock client edit')
    expect(holdsPending(live.doc)).toBe(false)
    c.destroy()
  })
})
