import { afterEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { LiveDoc } from '../../../server/collab/live-doc.ts'
import { createSqlDocStore, type DocStore } from '../../../server/collab/index.ts'
import { createLabel, draftsOf, editDraft, projectDrafts, type DocOrigin } from '../../../shared/doc/index.ts'
import fixture from '../../shared/doc/fixtures/old-list-shape.json'
import { holdsPending } from '../../../shared/doc/update-deps.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const rest: DocOrigin = { kind: 'rest', actor: 'api' }
const remote: DocOrigin = { kind: 'remote', actor: 'alice', connectionId: 1 }

/** A store that loads empty and whose writes always fail (a full disk). */
const failingStore = (): DocStore => ({
  load: async () => ({ snapshot: null, updates: [], lastSeq: 0 }),
  append: async () => {
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })
  },
  compact: async () => {
    throw new Error('ENOSPC')
  },
})

it('a close that times out on a failing store still destroys the document and its awareness (issue 12, item 10)', async () => {
  const logs: string[] = []
  const live = await LiveDoc.load('main', { store: failingStore(), log: (_l, m) => logs.push(m) })
  createLabel(live.doc, labelInput('unsaved'), rest)
  expect(live.pendingUpdates).toBeGreaterThan(0)
  let docDestroyed = false,
    awarenessDestroyed = false
  live.doc.on('destroy', () => {
    docDestroyed = true
  })
  live.awareness.on('destroy', () => {
    awarenessDestroyed = true
  })
  await live.close(100)
  expect(logs.some((m) => /closed with \d+ unsaved updates/.test(m))).toBe(true)
  // Before: both stayed alive, and the awareness' check interval kept running (and the process up).
  expect(docDestroyed).toBe(true)
  expect(awarenessDestroyed).toBe(true)
  expect(live.doc.isDestroyed).toBe(true)
})

it('a document stored before draft lists had order keys loads with every list element keyed, showing the same drafts', async () => {
  const rows: Uint8Array[] = [Buffer.from(fixture.update, 'base64')]
  const store: DocStore = {
    load: async () => ({ snapshot: null, updates: [...rows], lastSeq: rows.length }),
    append: async (_w, u) => rows.push(u),
    compact: async () => {},
  }
  const live = await LiveDoc.load('main', { store })
  const shown = projectDrafts(live.doc).drafts.map((d) => ({ id: d.id, definition: d.definition, authors: d.authors }))
  expect(shown).toEqual(fixture.drafts)
  const keyless: string[] = []
  const walk = (v: unknown, path: string): void => {
    if (v instanceof Y.Map) for (const [k, x] of (v as Y.Map<unknown>).entries()) walk(x, `${path}/${k}`)
    else if (v instanceof Y.Array)
      (v as Y.Array<unknown>).forEach((el, i) => {
        if (!(el instanceof Y.Map) || typeof el.get('~ord') !== 'string') keyless.push(`${path}/${i}`)
        walk(el, `${path}/${i}`)
      })
  }
  walk(draftsOf(live.doc), '')
  expect(keyless).toEqual([])
  // The keys are stored (a replica loading the store sees them), and a move is one key write.
  await live.flushed()
  expect(rows.length).toBeGreaterThan(1)
  const replica = new Y.Doc()
  for (const u of rows) Y.applyUpdate(replica, u)
  editDraft(replica, 'd_l_tier', [{ op: 'move', path: '/rule/values', from: 3, to: 0 }], rest)
  expect(
    (projectDrafts(replica).byId.d_l_tier!.definition.rule as { values: { value: string }[] }).values.map(
      (l) => l.value,
    ),
  ).toEqual(['buyer', 'visitor', 'vip', 'mid'])
  await live.close()
})

describeEachDb('LiveDoc and the store', (kind) => {
  let db: TestDb
  afterEach(async () => {
    await db.dispose()
  })

  it('a stored snapshot that holds pending structs (written before they were refused) loads without them', async () => {
    db = await newDb(kind)
    const store = await createSqlDocStore(db)
    // What an old server snapshotted: a document with an update kept aside as pending.
    const client = new Y.Doc()
    client.clientID = 4242
    const updates: Uint8Array[] = []
    client.on('update', (u: Uint8Array) => updates.push(u))
    client.getMap('meta').set('a', 'x'.repeat(1000))
    client.getMap('meta').set('b', 'y'.repeat(1000))
    const old = new Y.Doc()
    createLabel(old, labelInput('kept'), rest)
    Y.applyUpdate(old, updates[1]!) // depends on updates[0]: pending
    expect(holdsPending(old)).toBe(true)
    await store.compact('main', Y.encodeStateAsUpdate(old), 0)

    const logs: string[] = []
    const live = await LiveDoc.load('main', { store, log: (_l, m) => logs.push(m) })
    expect(holdsPending(live.doc)).toBe(false)
    expect(logs.some((m) => m.includes('could never be integrated'))).toBe(true)
    expect([...live.doc.getMap('labels').values()].map((l) => (l as Y.Map<unknown>).get('name'))).toEqual(['kept'])
    expect(live.doc.getMap('meta').has('b')).toBe(false)
    // The next snapshot is clean.
    createLabel(live.doc, labelInput('more'), rest)
    await live.close()
    const again = await LiveDoc.load('main', { store, log: (_l, m) => logs.push(m) })
    expect(logs.filter((m) => m.includes('could never be integrated'))).toHaveLength(1)
    expect(holdsPending(again.doc)).toBe(false)
    await again.close()
  })

  it('an incomplete update is refused before anything of it is applied; a complete one is applied', async () => {
    db = await newDb(kind)
    const live = await LiveDoc.load('main', { store: await createSqlDocStore(db) })
    const client = new Y.Doc()
    const updates: Uint8Array[] = []
    client.on('update', (u: Uint8Array) => updates.push(u))
    client.getMap('meta').set('a', 1)
    client.getMap('meta').set('b', 2)
    // A mix: updates[1] (depends on the withheld updates[0]) merged with another client's complete edit.
    const other = new Y.Doc()
    other.getMap('meta').set('c', 3)
    const mixed = Y.mergeUpdates([updates[1]!, Y.encodeStateAsUpdate(other)])
    expect(live.applyRemote(mixed, remote)).toBe('incomplete')
    expect(live.doc.getMap('meta').has('c')).toBe(false)
    expect(holdsPending(live.doc)).toBe(false)
    expect(live.applyRemote(Y.mergeUpdates([...updates, Y.encodeStateAsUpdate(other)]), remote)).toBe('applied')
    expect(live.doc.getMap('meta').toJSON()).toMatchObject({ a: 1, b: 2, c: 3 })
    await live.close()
  })
})
