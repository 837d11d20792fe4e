import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as bc from 'lib0/broadcastchannel'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebsocketProvider, messageSync } from 'y-websocket'
import * as syncProtocol from 'y-protocols/sync'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { createLabel, ensureDefaultGroup, labelsOf, projectWorkspace } from '../../shared/doc/index.ts'
import { joinTabsNow } from '../../client/sync/collab-connection.ts'
import { serverUpdates } from '../../client/sync/server-updates.ts'
import { newDb, type TestDb } from '../helpers/db.ts'
import { labelInput } from '../shared/doc/helpers.ts'
import {
  newClient,
  newCollabServer,
  synced,
  until,
  type TestClient,
  type TestServer,
} from '../server/collab/helpers.ts'

const me = { kind: 'local' as const, actor: 'alice' }

/** A document made of the updates a listener got: what the IndexedDB copy would hold. */
function rebuilt(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  return doc
}

/** A stock client that doesn't connect yet (a page loading its IndexedDB copy first). */
function unconnected(url: string, doc: Y.Doc, opts: { disableBc?: boolean } = {}): WebsocketProvider {
  return new WebsocketProvider(url, 'main', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: { token: 'ed1' },
    connect: false,
    ...opts,
  })
}

/**
 * client/sync/server-updates.ts against the real collab endpoint and the stock y-websocket client:
 * the server's updates reach the listeners as received, without Yjs encoding them again (issue 9,
 * the first sync of 5,000 labels), and nothing the page writes is lost on the way.
 */
describe('server updates handed over as received', () => {
  let db: TestDb
  let server: TestServer
  const clients: TestClient[] = []
  const client = () => {
    const c = newClient(server.url, 'ed1')
    clients.push(c)
    return c
  }

  beforeEach(async () => {
    db = await newDb('pglite')
    server = await newCollabServer(db)
    const writer = client()
    await synced(writer)
    ensureDefaultGroup(writer.doc)
    for (let i = 0; i < 30; i++) createLabel(writer.doc, labelInput(`seeded_${i}`), me)
  })
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    await server.close()
    await db.dispose()
  })

  it("applies the server's sync and updates with no 'update' listener (no encoding), and the listeners get all of it", async () => {
    const c = client()
    const [updates] = serverUpdates(c.doc, c.provider)
    const got: Uint8Array[] = []
    const origins: unknown[] = []
    updates.on((u, o) => {
      got.push(u)
      origins.push(o)
    })
    const encodedFor: boolean[] = []
    c.doc.on('afterTransactionCleanup', (tr: Y.Transaction) => {
      if (tr.origin === c.provider) encodedFor.push(c.doc._observers.has('update'))
    })
    await synced(c)
    await until(() => projectWorkspace(c.doc).labels.length === 30, 10_000, 'the 30 labels')
    // Another operator's edit, after the first sync: an update message.
    createLabel(clients[0]!.doc, labelInput('later'), me)
    await until(() => projectWorkspace(c.doc).labels.length === 31, 10_000, 'the later label')
    expect(encodedFor.length).toBeGreaterThan(0)
    expect(encodedFor.every((x) => x === false)).toBe(true)
    expect(origins.every((o) => o === c.provider)).toBe(true)
    expect(projectWorkspace(rebuilt(got))).toEqual(projectWorkspace(c.doc))
  })

  it("relays the page's own transactions, and they reach the server", async () => {
    const c = client()
    const [updates] = serverUpdates(c.doc, c.provider)
    const got: Uint8Array[] = []
    updates.on((u) => got.push(u))
    await synced(c)
    createLabel(c.doc, labelInput('mine'), me)
    expect(projectWorkspace(rebuilt(got)).labels.map((l) => l.name)).toContain('mine')
    const other = clients[0]!
    await until(
      () => projectWorkspace(other.doc).labels.some((l) => l.name === 'mine'),
      10_000,
      'the edit at the server',
    )
  })

  it('hands over and sends what an observer writes while a server message is applied', async () => {
    const c = client()
    const [updates] = serverUpdates(c.doc, c.provider)
    const got: Uint8Array[] = []
    updates.on((u) => got.push(u))
    await synced(c)
    // An observer that answers a remote label with a local write, inside the provider's message.
    let answered = false
    labelsOf(c.doc).observe((e) => {
      if (e.transaction.origin !== c.provider || answered) return
      answered = true
      createLabel(c.doc, labelInput('answer'), me)
    })
    createLabel(clients[0]!.doc, labelInput('trigger'), me)
    await until(() => answered, 10_000, 'the observer')
    const names = (d: Y.Doc) => projectWorkspace(d).labels.map((l) => l.name)
    expect(names(rebuilt(got))).toEqual(expect.arrayContaining(['trigger', 'answer']))
    await until(() => names(clients[0]!.doc).includes('answer'), 10_000, 'the write at the server')
  })

  it("applies the IndexedDB copy's load without encoding it while the socket is closed; observers' writes during it are handed over and sent", async () => {
    // The copy: the server's 30 labels and one made offline (the server lacks it).
    const writer = client()
    await synced(writer)
    await until(() => projectWorkspace(writer.doc).labels.length === 30, 10_000, 'the 30 labels')
    const kept = new Y.Doc()
    Y.applyUpdate(kept, Y.encodeStateAsUpdate(writer.doc))
    createLabel(kept, labelInput('made_offline'), me)
    const copy = Y.encodeStateAsUpdate(kept)
    const doc = new Y.Doc()
    const provider = unconnected(server.url, doc, { disableBc: true })
    clients.push({ doc, provider, destroy: () => (provider.destroy(), doc.destroy()) })
    const [updates] = serverUpdates(doc, provider)
    const got: Array<{ update: Uint8Array; origin: unknown }> = []
    updates.on((update, origin) => got.push({ update, origin }))
    const load = { what: 'the copy' }
    // Whether Yjs encodes a load for 'update' listeners: are there any as it checks (right after
    // 'afterTransactionCleanup'; this listener is added after those applyStored adds).
    const encodedFor: boolean[] = []
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      if (tr.origin !== load) return
      const check = (t: Y.Transaction) => {
        if (t !== tr) return
        doc.off('afterTransactionCleanup', check)
        encodedFor.push(doc._observers.has('update'))
      }
      doc.on('afterTransactionCleanup', check)
    })
    // An observer that writes when the copy's labels arrive (as draft state does): its own transaction.
    let wrote = false
    labelsOf(doc).observe((e) => {
      if (e.transaction.origin !== load || wrote) return
      wrote = true
      createLabel(doc, labelInput('written_by_observer'), me)
    })
    updates.applyStored([copy], load)
    expect(encodedFor).toEqual([false])
    const names = (d: Y.Doc) => projectWorkspace(d).labels.map((l) => l.name)
    expect(names(doc)).toEqual(expect.arrayContaining(['made_offline', 'written_by_observer']))
    // The observer's write is handed over (the copy keeps it); the load itself is not.
    expect(got.map((g) => g.origin)).toEqual([me])
    expect(names(rebuilt(got.map((g) => g.update)))).toEqual(['written_by_observer'])
    // Once the socket opens, the server gets what it lacked of the copy, and the observer's write.
    provider.connect()
    await until(
      () => ['made_offline', 'written_by_observer'].every((n) => names(writer.doc).includes(n)),
      10_000,
      'the copy and the write at the server',
    )
    // With the socket open, a load is encoded and handed over as before (its sync may have gone).
    const later = new Y.Doc()
    Y.applyUpdate(later, copy)
    createLabel(later, labelInput('loaded_while_open'), me)
    updates.applyStored([Y.encodeStateAsUpdate(later)], load)
    expect(encodedFor).toEqual([false, true])
    expect(got.at(-1)?.origin).toBe(load)
    await until(() => names(writer.doc).includes('loaded_while_open'), 10_000, 'the later load at the server')
  })

  it("a copy's load made inside another transaction joins it and is encoded and handed over with it", () => {
    const kept = new Y.Doc()
    ensureDefaultGroup(kept)
    createLabel(kept, labelInput('kept_inside'), me)
    const doc = new Y.Doc()
    const provider = unconnected(server.url, doc, { disableBc: true })
    clients.push({ doc, provider, destroy: () => (provider.destroy(), doc.destroy()) })
    const [updates] = serverUpdates(doc, provider)
    const got: Uint8Array[] = []
    updates.on((u) => got.push(u))
    // (An outer transaction that also wrote locally would make Yjs take a new client id: applying
    // an update marks the transaction remote.)
    Y.transact(doc, () => updates.applyStored([Y.encodeStateAsUpdate(kept)], 'the IndexedDB copy'), 'outer')
    // Joined to the outer transaction, which Yjs encodes for the listeners as usual.
    expect(got).toHaveLength(1)
    const copy = rebuilt(got)
    expect(projectWorkspace(copy).labels.map((l) => l.name)).toEqual(['kept_inside'])
  })

  it('stops: the stock handler and no relay again', async () => {
    const c = client()
    const [updates, stop] = serverUpdates(c.doc, c.provider)
    const got: Uint8Array[] = []
    updates.on((u) => got.push(u))
    stop()
    await synced(c)
    createLabel(c.doc, labelInput('after_stop'), me)
    expect(got).toEqual([])
  })

  it('hands over nothing for a server message that brought nothing new (the whole document, already loaded)', async () => {
    const c = client()
    const [updates] = serverUpdates(c.doc, c.provider)
    const got: Uint8Array[] = []
    updates.on((u) => got.push(u))
    await synced(c)
    await until(() => projectWorkspace(c.doc).labels.length === 30, 10_000, 'the 30 labels')
    const before = got.length
    // The server's whole document again, as a sync step 2 (what a sync step 1 sent before the
    // IndexedDB copy was loaded gets), through the provider's message handler.
    const receive = (update: Uint8Array) => {
      const e = encoding.createEncoder()
      encoding.writeVarUint(e, syncProtocol.messageYjsSyncStep2)
      encoding.writeVarUint8Array(e, update)
      const handle = c.provider.messageHandlers[messageSync]!
      handle(encoding.createEncoder(), decoding.createDecoder(encoding.toUint8Array(e)), c.provider, true, messageSync)
    }
    const whole = Y.encodeStateAsUpdate(c.doc)
    receive(whole)
    expect(got.length).toBe(before)
    // The whole document with one new label in it: handed over.
    const other = new Y.Doc()
    Y.applyUpdate(other, whole)
    createLabel(other, labelInput('one_more'), me)
    receive(Y.encodeStateAsUpdate(other))
    expect(got.length).toBe(before + 1)
    expect(projectWorkspace(rebuilt(got)).labels.map((l) => l.name)).toContain('one_more')
  })
})

/**
 * client/sync/collab-connection.ts joinTabsNow: a page that opens its socket once the local copy is
 * loaded does not publish the whole document to the other tabs' BroadcastChannel at connect.
 */
describe('joining the tabs before the local copy is loaded', () => {
  let db: TestDb
  let server: TestServer

  beforeEach(async () => {
    db = await newDb('pglite')
    server = await newCollabServer(db)
  })
  afterEach(async () => {
    await server.close()
    await db.dispose()
  })

  it('encodes no sync step 2 of the whole document for the other tabs when the socket opens after the load', async () => {
    const kept = new Y.Doc()
    ensureDefaultGroup(kept)
    for (let i = 0; i < 200; i++) createLabel(kept, labelInput(`kept_${i}`), me)
    const copy = Y.encodeStateAsUpdate(kept)
    const doc = new Y.Doc()
    const provider = unconnected(server.url, doc)
    const tab = new BroadcastChannel(provider.bcChannel)
    // Each message's size and, for a sync message, its kind (1: sync step 2, the whole document encoded for it).
    const published: Array<{ bytes: number; step2: boolean }> = []
    tab.onmessage = (e: MessageEvent) => {
      const data = e.data as Uint8Array
      published.push({
        bytes: data.byteLength,
        step2: data[0] === messageSync && data[1] === syncProtocol.messageYjsSyncStep2,
      })
    }
    try {
      joinTabsNow(provider)
      // The copy's load is published to the tabs as an update (as before); connecting must not
      // encode the whole document once more for them (a sync step 2).
      Y.applyUpdate(doc, copy, 'the IndexedDB copy')
      provider.connect()
      await new Promise<void>((r) => provider.once('sync', (s: boolean) => s && r()))
      // A marker through the provider's own channel (as the provider: it ignores it): it arrives
      // after everything published before it.
      bc.publish(provider.bcChannel, new Uint8Array([255, 255, 255]), provider)
      await until(() => published.at(-1)?.bytes === 3, 10_000, 'the marker')
      expect(provider.bcconnected).toBe(true)
      // The load's update only (Yjs encodes it for the page's update listeners anyway).
      expect(published.filter((m) => m.bytes > copy.byteLength / 2)).toEqual([
        { bytes: expect.any(Number), step2: false },
      ])
    } finally {
      tab.close()
      provider.destroy()
      doc.destroy()
    }
  })
})
