import { afterEach, describe, expect, it } from 'vitest'
import { projectWorkspace } from '../../../shared/doc/index.ts'
import { makeRng } from '../../../shared/prng.ts'
import { newDb } from '../../helpers/db.ts'
import { comparable, expectInvariants } from '../../shared/doc/invariants.ts'
import { randomEdit } from '../../shared/doc/random-edit.ts'
import { newClient, newCollabServer, synced, until, type TestClient } from './helpers.ts'

describe('collab convergence over real sockets', () => {
  const clients: TestClient[] = []
  afterEach(() => clients.splice(0).forEach((c) => c.destroy()))

  it('4 stock clients editing at random with disconnects and reconnects end with the server in one valid workspace', async () => {
    const db = await newDb('pglite')
    const server = await newCollabServer(db)
    const rng = makeRng(2024)
    const tokens = ['ed1', 'ed2', 'adm', 'ed1']
    for (const t of tokens) clients.push(newClient(server.url, t))
    await Promise.all(clients.map(synced))
    for (let n = 0; n < 1200; n++) {
      const c = rng.pick(clients)
      const r = rng.next()
      if (r < 0.9) randomEdit(c.doc, rng, 'op', n)
      else if (r < 0.95 && c.provider.wsconnected) c.provider.disconnect()
      else if (!c.provider.shouldConnect) c.provider.connect()
      if (n % 50 === 0) await new Promise((res) => setTimeout(res, rng.int(0, 20))) // let frames interleave
    }
    clients.forEach((c) => c.provider.shouldConnect || c.provider.connect())
    await Promise.all(clients.map(synced))
    const live = await server.registry.get('main')
    const same = () => {
      const want = JSON.stringify(comparable(projectWorkspace(live.doc)))
      return clients.every((c) => JSON.stringify(comparable(projectWorkspace(c.doc))) === want)
    }
    await until(same, 30_000, 'all replicas equal the server')
    const p = projectWorkspace(live.doc)
    expect(p.repairs).toEqual([])
    expect(p.labels.length).toBeGreaterThan(3)
    for (const c of clients) expectInvariants(c.doc)
    await live.flushed()
    await server.close()
    await db.dispose()
  })
})
