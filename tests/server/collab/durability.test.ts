import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { CollabClose, createLabel, projectWorkspace, updateLabel } from '../../../shared/doc/index.ts'
import { LabelsError } from '../../../shared/errors.ts'
import type { DocStore } from '../../../server/collab/index.ts'
import { createSqlDocStore } from '../../../server/collab/index.ts'
import { describeEachDb, newDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newClient, newCollabServer, rawSocket, synced, until, type TestClient } from './helpers.ts'

const me = { kind: 'local' as const, actor: 'alice' }
const labelNames = (d: Y.Doc) =>
  projectWorkspace(d)
    .labels.map((l) => l.name)
    .sort()

describeEachDb('collab persistence', (kind) => {
  const clients: TestClient[] = []
  afterEach(() => clients.splice(0).forEach((c) => c.destroy()))

  it('survives a restart: the update log is compacted into a snapshot and loaded on start', async () => {
    const db = await newDb(kind)
    let server = await newCollabServer(db, { compactEvery: 5 })
    const a = newClient(server.url, 'ed1')
    clients.push(a)
    await synced(a)
    for (let i = 0; i < 30; i++) createLabel(a.doc, labelInput(`l${i}`), me)
    const live = await server.registry.get('main')
    await until(() => projectWorkspace(live.doc).labels.length === 30)
    await live.flushed()
    // The snapshot is written off the store's path (live-doc.ts startCompaction): flushed() means the
    // updates are stored, not yet folded. Wait for it (a busy CI machine read 0 snapshots here).
    const count = async (table: string) =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n
    for (const end = Date.now() + 10_000; (await count('collab_snapshots')) === 0 && Date.now() < end; )
      await new Promise((r) => setTimeout(r, 25))
    expect(await count('collab_snapshots')).toBe(1)
    expect(await count('collab_updates')).toBeLessThan(30)
    a.destroy()
    clients.pop()
    await server.close()
    server = await newCollabServer(db)
    const b = newClient(server.url, 'ed1')
    clients.push(b)
    await synced(b)
    expect(labelNames(b.doc)).toHaveLength(30)
    await server.close()
    await db.dispose()
  })

  it('a corrupt stored snapshot fails loudly, is not served and is never overwritten', async () => {
    const db = await newDb(kind)
    let server = await newCollabServer(db)
    const live = await server.registry.get('main')
    createLabel(live.doc, labelInput('precious'), { kind: 'rest', actor: 'api' })
    await server.close() // final snapshot
    await db.query(`UPDATE collab_snapshots SET snapshot = overlay(snapshot placing '\\xdeadbeef'::bytea from 3)`)
    const damaged = (await db.query<{ snapshot: Uint8Array }>('SELECT snapshot FROM collab_snapshots')).rows[0]!
      .snapshot
    server = await newCollabServer(db)
    await expect(server.registry.get('main')).rejects.toThrow(LabelsError)
    await expect(server.registry.get('main')).rejects.toThrow(/corrupt/)
    const s = await rawSocket(`${server.url}/main?token=ed1`)
    expect((await s.closed).code).toBe(CollabClose.unavailable)
    await server.close()
    const after = (await db.query<{ snapshot: Uint8Array }>('SELECT snapshot FROM collab_snapshots')).rows[0]!.snapshot
    expect(Buffer.from(after).equals(Buffer.from(damaged))).toBe(true)
    await db.dispose()
  })

  it('when the store fails, updates stay in memory, are not broadcast until stored, and none is dropped', async () => {
    const db = await newDb(kind)
    const real = await createSqlDocStore(db)
    let failing = false
    const store: DocStore = {
      ...real,
      append: (w, u) => (failing ? Promise.reject(new Error('disk full')) : real.append(w, u)),
    }
    const server = await newCollabServer(db, { store })
    const a = newClient(server.url, 'ed1'),
      b = newClient(server.url, 'ed1')
    clients.push(a, b)
    await Promise.all([synced(a), synced(b)])
    failing = true
    const l = createLabel(a.doc, labelInput('pending'), me)
    for (let i = 0; i < 5; i++) updateLabel(a.doc, l.id, { displayName: `v${i}` }, me)
    const live = await server.registry.get('main')
    await until(() => live.storeFailures >= 2, 5000, 'store failures')
    expect(labelNames(b.doc)).toEqual([]) // not broadcast as if persisted
    const late = newClient(server.url, 'ed1')
    clients.push(late)
    await new Promise((r) => setTimeout(r, 300))
    expect(labelNames(late.doc)).toEqual([]) // a newcomer isn't given unstored state either
    failing = false
    const shown = (c: TestClient) =>
      projectWorkspace(c.doc)
        .labels.map((x) => x.displayName)
        .join()
    await until(() => shown(b) === 'v4' && shown(late) === 'v4', 10_000, 'every update delivered after recovery')
    await server.close()
    await db.dispose()
  })
})

describe('collab durability across kill -9', () => {
  const dirs: string[] = []
  const children: ChildProcess[] = []
  afterEach(() => {
    children.splice(0).forEach((c) => c.exitCode === null && c.kill('SIGKILL'))
    dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }))
  })

  const start = (dir: string): Promise<{ child: ChildProcess; url: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures/serve.ts'), dir, '7'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      children.push(child)
      let out = ''
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const line = out.split('\n').find((x) => x.startsWith('{"port"'))
        if (line) resolve({ child, url: `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}/collab` })
      })
      child.on('exit', (code) => reject(new Error(`server exited ${code}`)))
    })

  it('keeps everything another client has received when the server is killed with SIGKILL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'collab-kill-'))
    dirs.push(dir)
    let srv = await start(dir)
    const a = newClient(srv.url, 'ed1'),
      b = newClient(srv.url, 'ed1')
    await Promise.all([synced(a), synced(b)])
    for (let i = 0; i < 40; i++) createLabel(a.doc, labelInput(`k${i}`), me)
    await until(() => labelNames(b.doc).length === 40, 20_000, 'b received all')
    const seenByB = labelNames(b.doc)
    a.destroy()
    b.destroy()
    srv.child.kill('SIGKILL')
    await new Promise((r) => srv.child.once('exit', r))
    srv = await start(dir)
    const c = newClient(srv.url, 'ed1')
    await synced(c)
    expect(labelNames(c.doc)).toEqual(seenByB)
    c.destroy()
    srv.child.kill('SIGKILL')
    await new Promise((r) => srv.child.once('exit', r))
  })
})
