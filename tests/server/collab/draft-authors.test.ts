import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import {
  createLabel,
  draftIdFor,
  draftsOf,
  editDraft,
  openDraft,
  projectDrafts,
  setDraftField,
  updateDraft,
  type DocOrigin,
} from '../../../shared/doc/index.ts'
import type { CustomRule } from '../../../shared/schemas/rule.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newClient, newCollabServer, synced, until, type TestClient, type TestServer } from './helpers.ts'

// Issue 8: a draft records who last wrote each value ("bob overwrote your change"). The name
// came from the writing client, so any client could write as anyone. The server now attributes
// every draft write to the authenticated operator of the connection that sent it. Here bob's
// client (token ed2) lies, writing as alice and as carol, over real sockets.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const as = (actor: string): DocOrigin => ({ kind: 'local', actor })
const rule: CustomRule = {
  method: 'custom',
  values: [
    { value: 'low', when: { event: 'purchase', op: 'lt', value: 3 } },
    { value: 'high', when: { event: 'purchase', op: 'gte', value: 3 } },
  ],
  otherwise: 'none',
}
const authorsIn = (doc: Y.Doc, draftId: string) => projectDrafts(doc).byId[draftId]?.authors ?? {}
const createdByIn = (doc: Y.Doc, draftId: string) => projectDrafts(doc).byId[draftId]?.createdBy

describeEachDb('collab: draft authors are the sender, not what the client claims', (kind) => {
  let db: TestDb
  let server: TestServer
  let clients: TestClient[] = []
  let alice: TestClient, bob: TestClient
  let draftId: string
  beforeEach(async () => {
    db = await newDb(kind)
    server = await newCollabServer(db)
    alice = newClient(server.url, 'ed1')
    bob = newClient(server.url, 'ed2')
    clients = [alice, bob]
    await Promise.all(clients.map(synced))
    const label = createLabel(alice.doc, labelInput('tier'), as('alice'))
    draftId = openDraft(alice.doc, { labelId: label.id }, as('alice')).id
    updateDraft(alice.doc, draftId, { rule }, as('alice'))
    setDraftField(alice.doc, draftId, 'description', 'written by alice', as('alice'))
    await until(() => authorsIn(bob.doc, draftId)['/description'] === 'alice', 30_000, 'the draft at bob')
  })
  afterEach(async () => {
    clients.forEach((c) => c.destroy())
    await server.close()
    await db.dispose()
  })

  /** Every replica (server, alice, bob) shows `path` written by `who`. */
  async function everywhere(path: string, who: string, id = draftId): Promise<void> {
    const live = await server.registry.get('main')
    const docs = [live.doc, alice.doc, bob.doc]
    await until(() => docs.every((d) => authorsIn(d, id)[path] === who), 30_000, `${path} by ${who} on every replica`)
  }

  it("an edit made as someone else is the sender's, everywhere (the sender gets the correction back)", async () => {
    editDraft(bob.doc, draftId, [{ op: 'set', path: '/rule/values/1/value', value: 'top' }], as('alice'))
    await everywhere('/rule/values/1/value', 'bob')
    // What alice wrote stays hers: only what bob's update changed is his.
    await everywhere('/description', 'alice')
    await everywhere('/rule/values/0/value', 'alice')
  })

  it("overwriting alice's value while claiming to be alice still tells alice that bob overwrote it", async () => {
    editDraft(alice.doc, draftId, [{ op: 'set', path: '/rule/otherwise', value: 'nobody' }], as('alice'))
    await everywhere('/rule/otherwise', 'alice')
    editDraft(bob.doc, draftId, [{ op: 'set', path: '/rule/otherwise', value: 'someone' }], as('alice'))
    await everywhere('/rule/otherwise', 'bob')
  })

  it('a raw write of an author key alone (no value change) is recorded as the sender, never as the claimed name', async () => {
    const m = draftsOf(bob.doc).get(draftId) as Y.Map<unknown>
    bob.doc.transact(() => m.set('~by:description', 'carol'), as('carol'))
    await everywhere('/description', 'bob')
    const live = await server.registry.get('main')
    expect((draftsOf(live.doc).get(draftId) as Y.Map<unknown>).get('~by:description')).toBe('bob')
  })

  it('a new layer and a new draft made as someone else are the sender’s; starting values stay nobody’s', async () => {
    editDraft(
      bob.doc,
      draftId,
      [
        {
          op: 'insert',
          path: '/rule/values',
          index: 2,
          value: { value: 'mid', when: { event: 'visit', op: 'gt', value: 1 } },
        },
      ],
      as('alice'),
    )
    await everywhere('/rule/values/2/value', 'bob')
    await everywhere('/rule/values/2/when/event', 'bob')
    // A second label's draft, opened by bob as alice: the opener is bob, its starting values have no author.
    const other = createLabel(bob.doc, labelInput('other'), as('bob'))
    openDraft(bob.doc, { labelId: other.id }, as('alice'))
    const otherDraft = draftIdFor(other.id)
    const live = await server.registry.get('main')
    const docs = [live.doc, alice.doc, bob.doc]
    await until(() => docs.every((d) => createdByIn(d, otherDraft) === 'bob'), 30_000, 'the opener is bob everywhere')
    for (const d of docs) expect(authorsIn(d, otherDraft)).toEqual({})
  })

  it("a raw new layer without a creator, or with '' (nobody), is the sender's, not the list's author or nobody", async () => {
    const values = () =>
      ((draftsOf(bob.doc).get(draftId) as Y.Map<unknown>).get('rule') as Y.Map<unknown>).get(
        'values',
      ) as Y.Array<unknown>
    const cell = (v: unknown, by?: string) =>
      new Y.Map<unknown>(Object.entries(by === undefined ? { $cell: v } : { $cell: v, '~by': by }))
    const layer = (value: string, by?: string) => {
      const when = new Y.Map<unknown>(Object.entries({ event: 'visit', op: 'in', value: new Y.Array<unknown>() }))
      const m = new Y.Map<unknown>(Object.entries(by === undefined ? { value, when } : { value, when, '~by': by }))
      return { m, when }
    }
    // No `~by` anywhere: it would inherit the author of /rule/values (alice).
    bob.doc.transact(() => {
      const { m, when } = layer('inherits')
      values().push([m])
      ;(when.get('value') as Y.Array<unknown>).push([cell(1)])
    }, as('alice'))
    // `~by: ''` everywhere, and `~by:<key>: ''`: nobody's change.
    bob.doc.transact(() => {
      const { m, when } = layer('nobody', '')
      values().push([m])
      m.set('~by:value', '')
      ;(when.get('value') as Y.Array<unknown>).push([cell(2, '')])
    }, as('alice'))
    const live = await server.registry.get('main')
    const docs = [live.doc, alice.doc, bob.doc]
    const layerAt = (d: Y.Doc, value: string) =>
      ((projectDrafts(d).byId[draftId]?.definition.rule as CustomRule | undefined)?.values ?? []).findIndex(
        (l) => l.value === value,
      )
    await until(
      () => docs.every((d) => layerAt(d, 'nobody') >= 0 && layerAt(d, 'inherits') >= 0),
      30_000,
      'both layers',
    )
    for (const value of ['inherits', 'nobody']) {
      const i = layerAt(bob.doc, value)
      for (const p of ['value', 'when/event', 'when/op', 'when/value/0'])
        await everywhere(`/rule/values/${i}/${p}`, 'bob')
    }
    // What alice wrote stays hers.
    await everywhere('/rule/values/0/value', 'alice')
  })

  it('an honest sender needs no correction: its update is not echoed back with server writes', async () => {
    const live = await server.registry.get('main')
    const before = Y.encodeStateVector(live.doc)
    editDraft(bob.doc, draftId, [{ op: 'move', path: '/rule/values', from: 1, to: 0 }], as('bob'))
    editDraft(bob.doc, draftId, [{ op: 'set', path: '/rule/values/0/value', value: 'bottom' }], as('bob'))
    await everywhere('/rule/values/0/value', 'bob')
    // The move rewrote only an order key, which is nobody's authored value: 'low' is still alice's.
    await everywhere('/rule/values/1/value', 'alice')
    // Nothing written by the server's own client id.
    const serverWrites = Y.decodeUpdate(Y.encodeStateAsUpdate(live.doc, before)).structs.filter(
      (s) => s.id.client === live.doc.clientID,
    )
    expect(serverWrites).toEqual([])
  })
})
