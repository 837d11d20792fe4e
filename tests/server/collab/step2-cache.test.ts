import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as Y from 'yjs'
import { createGroup, createLabel, labelsOf, type DocOrigin } from '../../../shared/doc/index.ts'
import { makeStep2Cache, step2CacheOf } from '../../../server/collab/step2-cache.ts'
import { newDb, type TestDb } from '../../helpers/db.ts'
import { newClient, newCollabServer, rawSocket, synced, until, type TestClient, type TestServer } from './helpers.ts'

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 })

const origin: DocOrigin = { kind: 'local', actor: 'test' }
const EMPTY_SV = Y.encodeStateVector(new Y.Doc())

/** What syncProtocol writes for a step 2 answer: the frame the cache must reproduce byte for byte. */
const written = (doc: Y.Doc, sv: Uint8Array) => {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  syncProtocol.writeSyncStep2(e, doc, sv)
  return encoding.toUint8Array(e)
}

function workspace(): Y.Doc {
  const doc = new Y.Doc()
  const g = createGroup(doc, { name: 'Spend', parentId: null }, origin)
  for (let i = 0; i < 5; i++)
    createLabel(
      doc,
      {
        name: `l_${i}`,
        displayName: `L ${i}`,
        groupId: g.id,
        dataType: 'string',
        labelType: 'static',
        schedule: { kind: 'once' },
        enabled: true,
        description: '',
        rule: { method: 'import' },
      },
      origin,
    )
  return doc
}

describe('sync step 2 for a client with nothing (server/collab/step2-cache.ts)', () => {
  it('is encoded once per document version, with the bytes y-protocols writes', () => {
    const doc = workspace()
    const cache = makeStep2Cache(doc)
    const a = cache.frame(EMPTY_SV)
    expect(a).toEqual(written(doc, EMPTY_SV))
    expect(cache.frame(EMPTY_SV)).toBe(a) // the same bytes, not encoded again
    expect(cache.encoded).toBe(1)
    cache.stop()
  })

  it('is encoded again after any change, a deletion alone included (the state vector stays the same)', () => {
    const doc = workspace()
    const cache = makeStep2Cache(doc)
    const before = cache.frame(EMPTY_SV)
    const sv = Y.encodeStateVector(doc)
    const id = [...labelsOf(doc).keys()][0] as string
    doc.transact(() => labelsOf(doc).delete(id), origin)
    expect(Y.encodeStateVector(doc)).toEqual(sv)
    const after = cache.frame(EMPTY_SV)
    expect(after).not.toEqual(before)
    expect(after).toEqual(written(doc, EMPTY_SV))
    const fresh = new Y.Doc()
    const d = decoding.createDecoder(after)
    decoding.readVarUint(d)
    decoding.readVarUint(d)
    Y.applyUpdate(fresh, decoding.readVarUint8Array(d))
    expect(labelsOf(fresh).has(id)).toBe(false)
    expect(labelsOf(fresh).size).toBe(4)
    cache.stop()
  })

  it('answers a client that has part of the document with what it lacks, as before', () => {
    const doc = workspace()
    const cache = step2CacheOf(doc)
    const part = new Y.Doc()
    Y.applyUpdate(part, Y.encodeStateAsUpdate(doc))
    createGroup(doc, { name: 'Later', parentId: null }, origin)
    const sv = Y.encodeStateVector(part)
    expect(cache.frame(sv)).toEqual(written(doc, sv))
    expect(cache.encoded).toBe(0)
    cache.stop()
  })
})

describe('fresh clients of the collab endpoint share one encoded document', () => {
  let db: TestDb
  let server: TestServer
  const clients: TestClient[] = []
  beforeEach(async () => {
    db = await newDb('pglite')
    server = await newCollabServer(db)
  })
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy()
    await server.close()
    await db.close()
  })

  it('three new clients get the state encoded once; after an edit the next one gets the edit', async () => {
    const writer = newClient(server.url, 'ed1')
    clients.push(writer)
    await synced(writer)
    const g = createGroup(writer.doc, { name: 'Spend', parentId: null }, origin)
    const live = await server.registry.get('main')
    await until(() => live.doc.getMap('groups').has(g.id), 10_000, 'the group at the server')
    await live.flushed()
    const cache = step2CacheOf(live.doc)
    const before = cache.encoded
    const readers = [1, 2, 3].map(() => newClient(server.url, 'ed2'))
    clients.push(...readers)
    await Promise.all(readers.map(synced))
    for (const r of readers) expect(r.doc.getMap('groups').has(g.id)).toBe(true)
    expect(cache.encoded - before).toBe(1) // three readers, one encoding
    const encodedForReaders = cache.encoded

    // Renamed over the socket: the next fresh client gets the new name, not the cached bytes.
    writer.doc.transact(() => (writer.doc.getMap('groups').get(g.id) as Y.Map<unknown>).set('name', 'Value'), origin)
    await until(
      () => (live.doc.getMap('groups').get(g.id) as Y.Map<unknown>).get('name') === 'Value',
      10_000,
      'the rename at the server',
    )
    await live.flushed()
    const s = await rawSocket(`${server.url}/main?token=ed2`)
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, new Y.Doc())
    s.ws.send(encoding.toUint8Array(e))
    const step2 = () =>
      s.messages.find((m) => {
        const d = decoding.createDecoder(m)
        return decoding.readVarUint(d) === 0 && decoding.readVarUint(d) === syncProtocol.messageYjsSyncStep2
      })
    await until(() => step2() !== undefined, 10_000, 'sync step 2')
    const fresh = new Y.Doc()
    const d = decoding.createDecoder(step2() as Uint8Array)
    decoding.readVarUint(d)
    decoding.readVarUint(d)
    Y.applyUpdate(fresh, decoding.readVarUint8Array(d))
    expect((fresh.getMap('groups').get(g.id) as Y.Map<unknown>).get('name')).toBe('Value')
    expect(cache.encoded).toBe(encodedForReaders + 1)
    s.ws.close()
  })
})
