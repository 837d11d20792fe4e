import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { newClient, newCollabServer, rawSocket, synced, until, type TestClient, type TestServer } from './helpers.ts'

type RawSocket = Awaited<ReturnType<typeof rawSocket>>

/** An awareness frame [1, update] with the given (clientId, clock, state) entries. */
const awarenessFrame = (entries: Array<[number, number, unknown]>) => {
  const u = encoding.createEncoder()
  encoding.writeVarUint(u, entries.length)
  for (const [id, clock, state] of entries) {
    encoding.writeVarUint(u, id)
    encoding.writeVarUint(u, clock)
    encoding.writeVarString(u, JSON.stringify(state))
  }
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 1)
  encoding.writeVarUint8Array(e, encoding.toUint8Array(u))
  return encoding.toUint8Array(e)
}

/** Awareness entries a raw socket received, in order, with each frame's size. */
const awarenessReceived = (s: RawSocket) =>
  s.messages.flatMap((m) => {
    const d = decoding.createDecoder(m)
    if (decoding.readVarUint(d) !== 1) return []
    const u = decoding.createDecoder(decoding.readVarUint8Array(d))
    const n = decoding.readVarUint(u)
    const out: Array<{ clientId: number; clock: number; state: Record<string, unknown> | null; frameBytes: number }> =
      []
    for (let i = 0; i < n; i++)
      out.push({
        clientId: decoding.readVarUint(u),
        clock: decoding.readVarUint(u),
        state: JSON.parse(decoding.readVarString(u)) as Record<string, unknown> | null,
        frameBytes: m.byteLength,
      })
    return out
  })

// The shared 2-core machine can be slow: ceilings, not timings.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

describeEachDb('collab awareness: identity, size and rate', (kind) => {
  let db: TestDb
  let server: TestServer
  const clients: TestClient[] = []
  const sockets: RawSocket[] = []
  const raw = async (token: string) => {
    const s = await rawSocket(`${server.url}/main?token=${token}`)
    sockets.push(s)
    await until(() => s.messages.length > 0, 30_000, 'server hello') // the document is loaded
    return s
  }
  beforeEach(async () => {
    db = await newDb(kind)
    server = await newCollabServer(db)
  })
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    sockets.splice(0).forEach((s) => s.ws.close())
    await server.close()
    await db.dispose()
  })

  it("a viewer claiming to be 'alice (admin)' is shown as itself to the other operators", async () => {
    const viewer = newClient(server.url, 'view'),
      peer = newClient(server.url, 'ed2')
    clients.push(viewer, peer)
    await Promise.all([synced(viewer), synced(peer)])
    viewer.provider.awareness.setLocalState({
      user: { name: 'alice', role: 'admin', color: '#ff0000' },
      editing: { kind: 'label', id: 'x' },
      dragging: null,
    })
    const seen = () =>
      peer.provider.awareness.getStates().get(viewer.doc.clientID) as
        | { user: { name: string; role: string; color: string }; editing: unknown }
        | undefined
    await until(() => seen()?.editing !== undefined && seen()?.editing !== null, 30_000, 'viewer state at peer')
    expect(seen()!.user).toEqual({ name: 'vera', role: 'viewer', color: '#ff0000' })
    expect(seen()!.editing).toEqual({ kind: 'label', id: 'x' })
  })

  it('500 awareness frames of 59 KB are not relayed; a small state after them is', async () => {
    const attacker = await raw('view'),
      observer = await raw('adm')
    const big = { user: { name: 'alice', role: 'admin' }, junk: 'x'.repeat(59_000) }
    for (let clock = 1; clock <= 500; clock++) attacker.ws.send(awarenessFrame([[4242, clock, big]]))
    attacker.ws.send(
      awarenessFrame([[4242, 501, { user: { name: 'alice', role: 'admin' }, editing: null, dragging: null }]]),
    )
    await until(() => awarenessReceived(observer).some((e) => e.clientId === 4242), 30_000, 'the small state')
    const got = awarenessReceived(observer).filter((e) => e.clientId === 4242)
    expect(got.map((e) => e.clock)).toEqual([501])
    expect(got[0]!.state!.user).toEqual({ name: 'vera', role: 'viewer' })
    expect(got[0]!.frameBytes).toBeLessThan(8 * 1024)
  })

  it('a burst of awareness frames is relayed at most at the rate limit, the latest state last', async () => {
    const sender = await raw('ed1'),
      observer = await raw('adm')
    const t0 = Date.now()
    for (let clock = 1; clock <= 300; clock++)
      sender.ws.send(awarenessFrame([[5151, clock, { user: { name: 'alice', role: 'editor' }, n: clock }]]))
    await until(
      () => awarenessReceived(observer).some((e) => e.clientId === 5151 && e.clock === 300),
      30_000,
      'the latest state',
    )
    const seconds = (Date.now() - t0) / 1000
    const relayed = awarenessReceived(observer).filter((e) => e.clientId === 5151)
    // 20 frames/s with a burst of 20: whatever the machine's speed, never more than that.
    expect(relayed.length).toBeLessThanOrEqual(20 + Math.ceil(seconds * 20) + 1)
    expect(relayed.length).toBeLessThan(300)
    expect(relayed.at(-1)!.state).toMatchObject({ n: 300 })
  })

  it("a connection can't set or remove another operator's awareness state", async () => {
    const victim = newClient(server.url, 'ed2')
    clients.push(victim)
    await synced(victim)
    victim.provider.awareness.setLocalState({
      user: { name: 'bob', role: 'editor', color: '#00f' },
      editing: null,
      dragging: null,
    })
    const observer = await raw('adm')
    const id = victim.doc.clientID
    await until(
      () => awarenessReceived(observer).some((e) => e.clientId === id && e.state !== null),
      30_000,
      'victim state',
    )
    const attacker = await raw('ed1')
    attacker.ws.send(
      awarenessFrame([
        [id, 1_000, { user: { name: 'bob', role: 'admin' }, editing: { kind: 'group', id: 'g' }, dragging: null }],
      ]),
    )
    attacker.ws.send(awarenessFrame([[id, 1_001, null]]))
    // Its own state after them: once that arrives, the two before it were handled.
    attacker.ws.send(awarenessFrame([[6161, 1, { user: { name: 'x', role: 'admin' }, editing: null, dragging: null }]]))
    await until(() => awarenessReceived(observer).some((e) => e.clientId === 6161), 30_000, 'attacker own state')
    expect(awarenessReceived(observer).filter((e) => e.clientId === id && e.clock >= 1_000)).toEqual([])
    const live = await server.registry.get('main')
    expect(live.awareness.getStates().get(id)).toMatchObject({ user: { name: 'bob', role: 'editor' }, editing: null })
    expect(live.awareness.getStates().get(6161)).toMatchObject({ user: { name: 'alice', role: 'editor' } })
  })
})
