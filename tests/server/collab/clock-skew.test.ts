import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import type * as Y from 'yjs'
import {
  createLabel,
  labelsOf,
  projectWorkspace,
  type DocOrigin,
  type LabelChanges,
} from '../../../shared/doc/index.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { comparable } from '../../shared/doc/invariants.ts'
import { newClient, newCollabServer, synced, until, type TestClient, type TestServer } from './helpers.ts'

// Issue 12: createdAt decides which of two same-named labels keeps the name. It came from the
// creating client's clock, so a client whose clock was wrong won (or lost) every conflict. The
// server now stamps createdAt when it first integrates a label: the label the server saw first
// keeps the name, on every replica, whatever the clients' clocks say.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const YEAR = 365 * 86_400_000
const local = (actor: string): DocOrigin => ({ kind: 'local', actor })
const labelId = (d: Y.Doc, by: string) =>
  [...labelsOf(d).entries()].find(([, v]) => (v as Y.Map<unknown>).get('displayName') === by)?.[0]

describeEachDb("collab: creation times come from the server, not from clients' clocks", (kind) => {
  let db: TestDb
  let server: TestServer
  let clients: TestClient[] = []
  const seen: Array<{ c: LabelChanges; kind: string }> = []
  beforeEach(async () => {
    db = await newDb(kind)
    seen.length = 0
    server = await newCollabServer(db, { onDocChange: (_w, c, o) => void seen.push({ c, kind: o.kind }) })
  })
  afterEach(async () => {
    clients.forEach((c) => c.destroy())
    clients = []
    await server.close()
    await db.dispose()
  })

  /**
   * Two operators create a label named `churn` while both are offline; `skewed` (clock off by
   * `skewMs`) and `right` (a correct clock) come back in the order given.
   */
  async function race(skewMs: number, first: 'skewed' | 'right') {
    const skewed = newClient(server.url, 'ed1'),
      right = newClient(server.url, 'ed2')
    clients.push(skewed, right)
    await Promise.all([synced(skewed), synced(right)])
    skewed.provider.disconnect()
    right.provider.disconnect()
    const t0 = Date.now()
    createLabel(skewed.doc, labelInput('churn', { displayName: 'skewed' }), local('alice'), {
      now: new Date(Date.now() + skewMs),
    })
    createLabel(right.doc, labelInput('churn', { displayName: 'right' }), local('bob'), { now: new Date() })
    const ids = { skewed: labelId(skewed.doc, 'skewed')!, right: labelId(right.doc, 'right')! }
    const live = await server.registry.get('main')
    const order = first === 'skewed' ? [skewed, right] : [right, skewed]
    const firstId = ids[first],
      secondId = ids[first === 'skewed' ? 'right' : 'skewed']
    order[0]!.provider.connect()
    await until(() => labelsOf(live.doc).has(firstId), 30_000, 'the first label reached the server')
    order[1]!.provider.connect()
    const all = [live.doc, skewed.doc, right.doc]
    const view = (d: Y.Doc) => JSON.stringify(comparable(projectWorkspace(d)))
    await until(
      () => all.every((d) => labelsOf(d).size === 2) && new Set(all.map(view)).size === 1,
      60_000,
      'three replicas agree',
    )
    const t1 = Date.now()
    for (const d of all) {
      const p = projectWorkspace(d)
      // The label the server integrated first keeps the name, on every replica.
      expect(p.duplicates).toEqual([{ name: 'churn', labelIds: [firstId, secondId] }])
      expect(p.labels.find((l) => l.id === firstId)!.nameConflict).toBe(false)
      expect(p.labels.find((l) => l.id === secondId)!.nameConflict).toBe(true)
      // Both creation times are the server's: neither a year off.
      for (const l of p.labels) {
        expect(Date.parse(l.createdAt)).toBeGreaterThanOrEqual(t0 - 1000)
        expect(Date.parse(l.createdAt)).toBeLessThanOrEqual(t1 + 1000)
      }
    }
    // The stamp joined the creating transaction: each label was reported once, as created,
    // and never as an update (no second transaction from the server's write).
    await live.flushed()
    await until(() => seen.filter((s) => s.c.created.length > 0).length >= 2, 30_000, 'both creations reported')
    const reported = seen.flatMap((s) => [
      ...s.c.created.map((id) => `created ${id}`),
      ...s.c.updated.map((id) => `updated ${id}`),
    ])
    expect(reported.sort()).toEqual([`created ${ids.right}`, `created ${ids.skewed}`].sort())
  }

  it('a client a year behind does not win the name from a label the server saw first', async () => {
    await race(-YEAR, 'right')
  })

  it('a client a year ahead keeps the name when the server saw its label first', async () => {
    await race(YEAR, 'skewed')
  })

  it("a client that rewrites createdAt of an existing label gets the server's value back", async () => {
    const c = newClient(server.url, 'ed1')
    clients.push(c)
    await synced(c)
    createLabel(c.doc, labelInput('kept'), local('alice'))
    const live = await server.registry.get('main')
    const id = labelId(c.doc, 'KEPT')!
    await until(
      () => typeof (labelsOf(live.doc).get(id) as Y.Map<unknown> | undefined)?.get('createdAt') === 'string',
      30_000,
      'stamped',
    )
    await until(
      () =>
        (labelsOf(c.doc).get(id) as Y.Map<unknown>).get('createdAt') ===
        (labelsOf(live.doc).get(id) as Y.Map<unknown>).get('createdAt'),
      30_000,
      'stamp echoed to its creator',
    )
    const stamped = (labelsOf(live.doc).get(id) as Y.Map<unknown>).get('createdAt')
    ;(labelsOf(c.doc).get(id) as Y.Map<unknown>).set('createdAt', '1970-01-01T00:00:00.000Z')
    await until(
      () => (labelsOf(c.doc).get(id) as Y.Map<unknown>).get('createdAt') === stamped,
      30_000,
      'restored on the client',
    )
    expect((labelsOf(live.doc).get(id) as Y.Map<unknown>).get('createdAt')).toBe(stamped)
  })
})
