import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { EngineService } from '../../engine/service.ts'
import { buildApp } from '../../server/app.ts'
import { createSqlDocStore } from '../../server/collab/index.ts'
import { CollabClose, createLabel } from '../../shared/doc/index.ts'
import { describeEachDb, newDb, type TestDb } from '../helpers/db.ts'
import { labelInput } from '../shared/doc/helpers.ts'
import { newCollabServer, rawSocket } from '../server/collab/helpers.ts'
import { auth, tokenEntries } from '../server/helpers.ts'

/**
 * A truncated stored snapshot (tests/server/collab/damage.test.ts has zeroed and lost rows, the
 * durability test an overwritten middle): cut short with its digest left as it was, and cut
 * short with both digests rewritten to match (what a store bug writing a short snapshot would
 * leave). Each fails loudly — the collab socket closes 4503, the whole app refuses to start
 * (or answers 503) — and the stored rows are byte for byte what they were.
 */
const hex = (v: unknown) => Buffer.from(v as Uint8Array).toString('hex')
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

async function storedRows(db: TestDb): Promise<string> {
  const s = await db.query<{ snapshot: unknown; upto_seq: number; digest: string }>(
    'SELECT snapshot, upto_seq, digest FROM collab_snapshots',
  )
  const u = await db.query<{ seq: number; update: unknown }>('SELECT seq, update FROM collab_updates ORDER BY seq')
  const d = await db.query<{ digest: string }>('SELECT digest FROM collab_docs')
  return JSON.stringify([
    s.rows.map((r) => [hex(r.snapshot), Number(r.upto_seq), r.digest]),
    u.rows.map((r) => [Number(r.seq), hex(r.update)]),
    d.rows,
  ])
}

describeEachDb('a truncated stored snapshot fails loudly and is never overwritten', (kind) => {
  let db: TestDb
  afterEach(async () => {
    await db.dispose()
  })

  const storeSnapshot = async () => {
    db = await newDb(kind)
    const server = await newCollabServer(db)
    const live = await server.registry.get('main')
    for (let i = 0; i < 20; i++)
      createLabel(live.doc, labelInput(`precious${i}`, { description: 'x'.repeat(200) }), {
        kind: 'rest',
        actor: 'api',
      })
    await server.close() // final snapshot
  }
  const truncate = async (fixDigests: boolean) => {
    const s = (await db.query<{ snapshot: Uint8Array }>('SELECT snapshot FROM collab_snapshots')).rows[0]!.snapshot
    const cut = Buffer.from(s).subarray(0, Math.floor(s.length * 0.6))
    await db.query('UPDATE collab_snapshots SET snapshot = $1', [cut])
    if (fixDigests) {
      await db.query('UPDATE collab_snapshots SET digest = $1', [sha(cut)])
      await db.query('UPDATE collab_docs SET digest = $1', [sha(cut)])
    }
    return `${s.length} → ${cut.length} bytes${fixDigests ? ', digests rewritten to match' : ''}`
  }

  for (const fixDigests of [false, true]) {
    it(`over the collab socket (${fixDigests ? 'digests matching the short bytes' : 'digest as it was'})`, async () => {
      await storeSnapshot()
      const what = await truncate(fixDigests)
      const before = await storedRows(db)
      const server = await newCollabServer(db)
      await expect(server.registry.get('main')).rejects.toThrow(/corrupt|damaged|truncated|unexpected end|decode/i)
      const s = await rawSocket(`${server.url}/main?token=ed1`)
      expect((await s.closed).code).toBe(CollabClose.unavailable)
      await server.close()
      expect(await storedRows(db)).toBe(before)
      console.log(`[truncated] ${kind} ${what}: refused (4503), rows unchanged`)
    })
  }

  it('the whole app on it: refuses to start or answers 503, and writes nothing', async () => {
    await storeSnapshot()
    const what = await truncate(true)
    const before = await storedRows(db)
    const engineDb = await newDb(kind)
    const engine = new EngineService(engineDb)
    await engine.migrate()
    const dataDir = await mkdtemp(join(tmpdir(), 'labels-trunc-'))
    let outcome = ''
    let app: Awaited<ReturnType<typeof buildApp>> | null = null
    try {
      app = await buildApp({
        engine,
        db: engineDb.kind,
        dataDir,
        tokens: tokenEntries,
        docStore: await createSqlDocStore(db),
        calc: { concurrency: 1 },
      })
      await app.ready()
      const r = await app.inject({
        method: 'POST',
        url: '/api/groups',
        payload: { name: 'over-it' },
        headers: auth('editor'),
      })
      const g = await app.inject({ url: '/api/groups', headers: auth('viewer') })
      outcome = `started; POST /api/groups ${r.statusCode}, GET ${g.statusCode}`
      expect(r.statusCode).toBe(503)
      expect(g.statusCode).toBe(503)
    } catch (e) {
      if (outcome) throw e
      outcome = `refused to start: ${(e as Error).message}`
      expect((e as Error).message).toMatch(/damaged|corrupt/i)
    } finally {
      await app?.close().catch(() => {})
      await engineDb.dispose()
      await rm(dataDir, { recursive: true, force: true })
    }
    expect(await storedRows(db)).toBe(before)
    console.log(`[truncated] ${kind} ${what}, whole app: ${outcome}; rows unchanged`)
  })
})
