import { afterEach, beforeEach, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  createLabel,
  projectWorkspace,
  updateLabel,
  type DocOrigin,
  type LabelChanges,
} from '../../../shared/doc/index.ts'
import { createSqlDocStore, type DocStore } from '../../../server/collab/index.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { comparable } from '../../shared/doc/invariants.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newClient, newCollabServer, synced, until, type TestClient, type TestServer } from './helpers.ts'

const me = { kind: 'local' as const, actor: 'alice' }
const labelNames = (d: Y.Doc) =>
  projectWorkspace(d)
    .labels.map((l) => l.name)
    .sort()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeEachDb('collab document unloading', (kind) => {
  let db: TestDb
  let server: TestServer | null = null
  const clients: TestClient[] = []
  const client = (workspace: string, token = 'ed1') => {
    const c = newClient(server!.url, token, workspace)
    clients.push(c)
    return c
  }
  const drop = (c: TestClient) => {
    c.destroy()
    clients.splice(clients.indexOf(c), 1)
  }
  const stats = () => server!.app.collabStats

  beforeEach(async () => {
    db = await newDb(kind)
  })
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    await server?.close()
    server = null
    await db.dispose()
  })

  it('unloads a document once its last connection has been gone for the grace period; a reconnect sees every edit', async () => {
    const grace = 400
    server = await newCollabServer(db, { unloadAfterMs: grace })
    const a = client('room1'),
      b = client('room1')
    await Promise.all([synced(a), synced(b)])
    for (let i = 0; i < 20; i++) createLabel(a.doc, labelInput(`l${i}`), me)
    const l0 = projectWorkspace(a.doc).labels.find((l) => l.name === 'l0')!
    updateLabel(a.doc, l0.id, { displayName: 'edited' }, me)
    await until(() => labelNames(b.doc).length === 20, 10_000, 'b received every label') // stored before broadcast
    drop(a)
    await sleep(grace * 2)
    expect(stats()).toMatchObject({ documents: 1, unloadedDocuments: 0 }) // b still connected

    drop(b)
    await until(() => stats().connections === 0, 5000, 'server saw the disconnects')
    const gone = Date.now()
    expect(stats().documents).toBe(1) // the grace period runs first
    await until(() => stats().documents === 0, 10_000, 'document unloaded')
    expect(Date.now() - gone).toBeGreaterThanOrEqual(grace - 50)
    expect(stats().unloadedDocuments).toBe(1)
    // The unload folded the log into a final snapshot.
    const stored = await server.store.load('room1')
    expect(stored.snapshot).not.toBeNull()
    expect(stored.updates).toEqual([])

    const c = client('room1')
    await synced(c)
    expect(stats().documents).toBe(1)
    expect(labelNames(c.doc)).toEqual(Array.from({ length: 20 }, (_, i) => `l${i}`).sort())
    expect(projectWorkspace(c.doc).labels.find((l) => l.id === l0.id)?.displayName).toBe('edited')
  })

  it('a connection within the grace period keeps the document loaded; edits after it are not lost', async () => {
    const grace = 500
    server = await newCollabServer(db, { unloadAfterMs: grace })
    const a = client('room2')
    await synced(a)
    createLabel(a.doc, labelInput('first'), me)
    const b = client('room2')
    await until(() => labelNames(b.doc).includes('first'), 10_000, 'b sees first')
    drop(a)
    drop(b)
    await until(() => stats().connections === 0, 5000, 'disconnects seen')
    await sleep(grace / 4)
    const c = client('room2')
    await synced(c)
    await sleep(grace * 2)
    expect(stats()).toMatchObject({ documents: 1, unloadedDocuments: 0 })
    createLabel(c.doc, labelInput('second'), me)
    const d = client('room2')
    await until(() => labelNames(d.doc).includes('second'), 10_000, 'd sees second')
    drop(c)
    drop(d)
    await until(() => stats().documents === 0, 10_000, 'unloaded after the last one left')
    const e = client('room2')
    await synced(e)
    expect(labelNames(e.doc)).toEqual(['first', 'second'])
  })

  it('never unloads a document pinned by server-side code; its observers and the change hook keep working', async () => {
    const changes: Array<{ workspace: string; changes: LabelChanges; origin: DocOrigin }> = []
    server = await newCollabServer(db, {
      unloadAfterMs: 100,
      onDocChange: (workspace, c, origin) => void changes.push({ workspace, changes: c, origin }),
    })
    const live = await server.registry.get('main') // as the workspace plugin holds `main`
    let transactions = 0
    live.doc.on('afterTransaction', () => transactions++)
    const a = client('main')
    await synced(a)
    createLabel(a.doc, labelInput('from_browser'), me)
    await until(() => labelNames(live.doc).includes('from_browser'), 10_000, 'server has it')
    drop(a)
    await until(() => stats().connections === 0, 5000, 'disconnect seen')
    await sleep(500)
    expect(stats()).toMatchObject({ documents: 1, unloadedDocuments: 0 })
    expect(await server.registry.get('main')).toBe(live) // the same document, not a reload

    const seen = transactions
    const rest: DocOrigin = { kind: 'rest', actor: 'api' }
    const made = createLabel(live.doc, labelInput('from_rest'), rest)
    await live.flushed()
    expect(transactions).toBeGreaterThan(seen)
    await until(() => changes.some((c) => c.changes.created.includes(made.id)), 5000, 'hook fired')
    const b = client('main')
    await synced(b)
    expect(labelNames(b.doc)).toEqual(['from_browser', 'from_rest'])
  })

  it('server-side writes after an unload load the document again transparently: connected clients see them, hooks fire', async () => {
    const changes: Array<{ workspace: string; created: string[] }> = []
    server = await newCollabServer(db, {
      unloadAfterMs: 100,
      onDocChange: (workspace, c) => void changes.push({ workspace, created: c.created }),
    })
    const a = client('room3')
    await synced(a)
    createLabel(a.doc, labelInput('before_unload'), me)
    await until(() => changes.length === 1, 5000, 'first change stored')
    drop(a)
    await until(() => stats().unloadedDocuments === 1 && stats().documents === 0, 10_000, 'unloaded')

    const watcher = client('room3')
    await synced(watcher)
    expect(labelNames(watcher.doc)).toEqual(['before_unload'])
    const lease = await server.registry.acquire('room3')
    try {
      const made = createLabel(lease.live.doc, labelInput('after_unload'), { kind: 'rest', actor: 'api' })
      await lease.live.flushed()
      await until(() => labelNames(watcher.doc).includes('after_unload'), 5000, 'watcher sees the server write')
      await until(
        () => changes.some((c) => c.workspace === 'room3' && c.created.includes(made.id)),
        5000,
        'hook fired on the reloaded document',
      )
    } finally {
      lease.release()
    }
    drop(watcher)
    await until(() => stats().unloadedDocuments === 2, 10_000, 'unloaded again')
    const stored = await server.store.load('room3')
    const doc = new Y.Doc()
    if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot)
    for (const u of stored.updates) Y.applyUpdate(doc, u)
    expect(labelNames(doc)).toEqual(['after_unload', 'before_unload'])
  })

  it('keeps a document whose updates still wait for a failing store, and unloads it once they are stored', async () => {
    const real = await createSqlDocStore(db)
    let failing = false
    const store: DocStore = {
      ...real,
      append: (w, u) => (failing ? Promise.reject(new Error('disk full')) : real.append(w, u)),
    }
    server = await newCollabServer(db, { store, unloadAfterMs: 100 })
    const a = client('room4')
    await synced(a)
    failing = true
    createLabel(a.doc, labelInput('pending'), me)
    await sleep(100) // sent before the client leaves
    drop(a)
    await until(() => stats().connections === 0, 5000, 'disconnect seen')
    await sleep(600)
    expect(stats()).toMatchObject({ documents: 1, unloadedDocuments: 0 })
    failing = false
    await until(
      () => stats().unloadedDocuments === 1 && stats().documents === 0,
      15_000,
      'unloaded after the store recovered',
    )
    const b = client('room4')
    await synced(b)
    expect(labelNames(b.doc)).toEqual(['pending'])
  })

  it('a client connecting while the document is being unloaded waits and gets everything', async () => {
    const real = await createSqlDocStore(db)
    let slow = false
    let compacting = false
    const store: DocStore = {
      ...real,
      compact: async (w, s, upto) => {
        compacting = slow
        if (slow) await sleep(400)
        await real.compact(w, s, upto)
        compacting = false
      },
    }
    // Only the unload compacts here, so the slow snapshot is the unload's.
    server = await newCollabServer(db, { store, unloadAfterMs: 100, idleCompactMs: 60_000 })
    const a = client('room5'),
      b = client('room5')
    await Promise.all([synced(a), synced(b)])
    for (let i = 0; i < 10; i++) createLabel(a.doc, labelInput(`x${i}`), me)
    await until(() => labelNames(b.doc).length === 10, 10_000, 'b has all')
    const expected = comparable(projectWorkspace(a.doc))
    slow = true
    drop(a)
    drop(b)
    await until(() => compacting, 10_000, 'final snapshot under way')
    const c = client('room5')
    await synced(c)
    expect(comparable(projectWorkspace(c.doc))).toEqual(expected)
    expect(stats()).toMatchObject({ documents: 1, unloadedDocuments: 1, connections: 1 })
  })
})
