import { afterEach, describe, expect, it } from 'vitest'
import { ClusterBus, type ClusterMessage } from '../../../server/cluster/bus.ts'
import { newSchemaUrl, pgUrl } from './schema.ts'

const until = async (ok: () => boolean, ms = 10_000) => {
  const t0 = Date.now()
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe.skipIf(!pgUrl)('cluster bus (PostgreSQL LISTEN/NOTIFY)', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f()
  })
  const open = async (url: string) => {
    const bus = await ClusterBus.open(url, { leaseMs: 3000, reconnectMs: 50 })
    cleanup.push(() => bus.close())
    return bus
  }

  it('delivers typed messages to the other nodes in order, small and over the NOTIFY limit, never to the sender', async () => {
    const s = await newSchemaUrl()
    cleanup.push(s.dispose)
    const [a, b, c] = [await open(s.url), await open(s.url), await open(s.url)]
    const got: Record<string, ClusterMessage[]> = { a: [], b: [], c: [] }
    a.on('t', (m) => void got.a!.push(m))
    b.on('t', (m) => void got.b!.push(m))
    c.on('t', (m) => void got.c!.push(m))
    const big = 'x'.repeat(50_000)
    for (let i = 0; i < 20; i++) await a.publish({ type: 't', i, ...(i % 5 === 0 ? { big } : {}) })
    await until(() => got.b!.length === 20 && got.c!.length === 20)
    expect(got.a).toEqual([])
    for (const list of [got.b!, got.c!]) {
      expect(list.map((m) => m.i)).toEqual([...Array(20).keys()])
      expect(list.every((m) => m.from === a.nodeId)).toBe(true)
      expect(list.filter((m) => m.big === big)).toHaveLength(4)
    }
    expect(a.stats.viaTable).toBe(4)
  })

  it('sends inside a transaction only when it commits', async () => {
    const s = await newSchemaUrl()
    cleanup.push(s.dispose)
    const [a, b] = [await open(s.url), await open(s.url)]
    const got: unknown[] = []
    b.on('t', (m) => void got.push(m.n))
    await a.db
      .transaction(async (tx) => {
        await a.publish({ type: 't', n: 'rolled back' }, tx)
        throw new Error('abort')
      })
      .catch(() => {})
    await a.db.transaction((tx) => a.publish({ type: 't', n: 'committed', pad: 'y'.repeat(9000) }, tx))
    await until(() => got.length === 1)
    await new Promise((r) => setTimeout(r, 200))
    expect(got).toEqual(['committed'])
  })

  it('separate schemas never hear each other', async () => {
    const [s1, s2] = [await newSchemaUrl(), await newSchemaUrl()]
    cleanup.push(s1.dispose, s2.dispose)
    const [a, b] = [await open(s1.url), await open(s2.url)]
    expect(a.channel).not.toBe(b.channel)
    const got: unknown[] = []
    b.on('t', (m) => void got.push(m))
    await a.publish({ type: 't' })
    await new Promise((r) => setTimeout(r, 300))
    expect(got).toEqual([])
  })

  it('reconnects after losing its listening connection and tells its listeners to resync', async () => {
    const s = await newSchemaUrl()
    cleanup.push(s.dispose)
    const [a, b] = [await open(s.url), await open(s.url)]
    let resyncs = 0
    b.onReconnect(() => resyncs++)
    const got: unknown[] = []
    b.on('t', (m) => void got.push(m.n))
    b.dropConnectionForTest()
    await until(() => b.stats.reconnects === 1)
    expect(resyncs).toBe(1)
    await a.publish({ type: 't', n: 1 })
    await until(() => got.length === 1)
  })

  it('sees a node whose process is gone as dead', async () => {
    const s = await newSchemaUrl()
    cleanup.push(s.dispose)
    const [a, b] = [await open(s.url), await open(s.url)]
    expect(await a.deadNodes()).toEqual([])
    // Its listening connection gone (as when the process is killed) and no reconnect.
    ;(b as unknown as { closed: boolean }).closed = true
    b.dropConnectionForTest()
    await until(() => false, 300).catch(() => {})
    expect(await a.deadNodes()).toEqual([b.nodeId])
    ;(b as unknown as { closed: boolean }).closed = false // so cleanup closes its pool
  })
})
