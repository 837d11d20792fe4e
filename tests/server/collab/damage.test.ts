import { afterEach, expect, it, vi } from 'vitest'
import { CollabClose, createLabel } from '../../../shared/doc/index.ts'
import { LabelsError } from '../../../shared/errors.ts'
import { describeEachDb, newDb, type TestDb } from '../../helpers/db.ts'
import { labelInput } from '../../shared/doc/helpers.ts'
import { newCollabServer, rawSocket, type TestServer } from './helpers.ts'

// The shared 2-core machine can be slow: ceilings, not timings.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const rest = { kind: 'rest' as const, actor: 'api' }
const hex = (v: unknown) => Buffer.from(v as Uint8Array).toString('hex')

/** Every stored row of both tables, bytes as hex: to show nothing was written over them. */
async function storedRows(db: TestDb): Promise<string> {
  const u = await db.query<{ seq: number; update: unknown; digest: string | null }>(
    'SELECT seq, update, digest FROM collab_updates ORDER BY seq',
  )
  const s = await db.query<{ workspace: string; snapshot: unknown; upto_seq: number; digest: string }>(
    'SELECT workspace, snapshot, upto_seq, digest FROM collab_snapshots',
  )
  return JSON.stringify({
    updates: u.rows.map((r) => [Number(r.seq), hex(r.update), r.digest]),
    snapshots: s.rows.map((r) => [r.workspace, hex(r.snapshot), Number(r.upto_seq), r.digest]),
  })
}

/**
 * A document with a snapshot (3 labels) and 3 updates after it, left as a crash leaves it: the
 * app stops, the registry is never closed (no final snapshot).
 */
async function storeThenCrash(db: TestDb): Promise<void> {
  const server = await newCollabServer(db, { idleCompactMs: 3_600_000, compactEvery: 100_000 })
  const live = await server.registry.get('main')
  for (let i = 0; i < 3; i++) createLabel(live.doc, labelInput(`snap${i}`), rest)
  await live.flushed()
  await server.registry.close() // snapshot of the above
  const again = await newCollabServer(db, { idleCompactMs: 3_600_000, compactEvery: 100_000 })
  const doc = (await again.registry.get('main')).doc
  for (let i = 0; i < 3; i++) createLabel(doc, labelInput(`log${i}`), rest)
  await (await again.registry.get('main')).flushed()
  await server.app.close()
  await again.app.close() // crash: the registry is not closed, the updates stay in the log
}

describeEachDb('collab: a damaged document store fails loudly and is never overwritten', (kind) => {
  let db: TestDb
  let server: TestServer | null = null
  afterEach(async () => {
    await server?.close()
    server = null
    await db.dispose()
  })

  const expectRefused = async (before: string) => {
    server = await newCollabServer(db)
    await expect(server.registry.get('main')).rejects.toThrow(LabelsError)
    const s = await rawSocket(`${server.url}/main?token=ed1`)
    expect((await s.closed).code).toBe(CollabClose.unavailable)
    await server.close()
    server = null
    expect(await storedRows(db)).toBe(before)
  }

  it('a zeroed stored update', async () => {
    db = await newDb(kind)
    await storeThenCrash(db)
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM collab_updates')
    expect(rows.rows[0]!.n).toBeGreaterThan(0)
    await db.query(`UPDATE collab_updates SET update = decode(repeat('00', length(update)), 'hex')
                    WHERE seq = (SELECT min(seq) FROM collab_updates)`)
    await expectRefused(await storedRows(db))
  })

  it('a zeroed stored update whose digest was lost too (rows stored before digests)', async () => {
    db = await newDb(kind)
    await storeThenCrash(db)
    await db.query(`UPDATE collab_updates SET update = decode(repeat('00', length(update)), 'hex'), digest = NULL`)
    await expectRefused(await storedRows(db))
  })

  it('a zeroed snapshot', async () => {
    db = await newDb(kind)
    await storeThenCrash(db)
    await db.query(`UPDATE collab_snapshots SET snapshot = decode(repeat('00', length(snapshot)), 'hex')`)
    await expectRefused(await storedRows(db))
  })

  it('a lost snapshot row (what a zeroed page reads as), with and without updates after it', async () => {
    db = await newDb(kind)
    await storeThenCrash(db)
    await db.query('DELETE FROM collab_snapshots')
    await expectRefused(await storedRows(db))
    await db.query('DELETE FROM collab_updates')
    await expectRefused(await storedRows(db))
  })

  it('an intact store still loads, after a restart and a crash', async () => {
    db = await newDb(kind)
    await storeThenCrash(db)
    server = await newCollabServer(db)
    const live = await server.registry.get('main')
    expect([...live.doc.getMap('labels').values()]).toHaveLength(6)
  })
})
