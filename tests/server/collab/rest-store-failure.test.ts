import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { EngineService } from '../../../engine/service.ts'
import { buildApp } from '../../../server/app.ts'
import { createSqlDocStore, type DocStore } from '../../../server/collab/index.ts'
import { projectWorkspace } from '../../../shared/doc/index.ts'
import { describeEachDb, newDb } from '../../helpers/db.ts'
import { auth, tokenEntries } from '../helpers.ts'

// The shared 2-core machine can be slow: ceilings, not timings.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 })

const groupNames = (d: Y.Doc) => projectWorkspace(d).groups.map((g) => g.name)

describeEachDb('REST writes while the document store fails', (kind) => {
  it('answer 503 saying the edit is kept, and the edit is stored once the store recovers', async () => {
    const db = await newDb(kind),
      docDb = await newDb(kind)
    const engine = new EngineService(db)
    await engine.migrate()
    const real = await createSqlDocStore(docDb)
    let failing = false
    let failures = 0
    const store: DocStore = {
      ...real,
      append: (w, u) =>
        failing ? (failures++, Promise.reject(new Error('ENOSPC: no space left on device'))) : real.append(w, u),
      compact: (w, s, n) =>
        failing ? Promise.reject(new Error('ENOSPC: no space left on device')) : real.compact(w, s, n),
    }
    const dataDir = await mkdtemp(join(tmpdir(), 'labels-store-fail-'))
    const start = (docStore: DocStore) =>
      buildApp({
        engine,
        db: db.kind,
        dataDir,
        tokens: tokenEntries,
        docStore,
        strictResponses: true,
        calc: { concurrency: 1 },
      })
    let app = await start(store)
    await app.ready()

    failing = true
    const r = await app.inject({
      method: 'POST',
      url: '/api/groups',
      payload: { name: 'Kept' },
      headers: auth('editor'),
    })
    expect(r.statusCode).toBe(503)
    expect(r.json().error.code).toBe('unavailable')
    expect(r.json().error.message).toMatch(/kept in memory.*will be stored/)
    expect(failures).toBeGreaterThan(0)
    // The edit is in the document meanwhile.
    const tree = await app.inject({ method: 'GET', url: '/api/groups', headers: auth('viewer') })
    expect(JSON.stringify(tree.json())).toContain('"Kept"')

    failing = false
    const stored = async () => {
      const s = await real.load('main')
      const d = new Y.Doc()
      if (s.snapshot) Y.applyUpdate(d, s.snapshot)
      for (const u of s.updates) Y.applyUpdate(d, u)
      return groupNames(d)
    }
    // Polls the store itself until the retry has written the edit (a ceiling, not a timing).
    let names: string[] = []
    for (let i = 0; !names.includes('Kept') && i < 2400; i++) {
      names = await stored()
      if (!names.includes('Kept')) await new Promise((res) => setTimeout(res, 25))
    }
    expect(names).toContain('Kept')
    // And a write now answers as usual.
    expect(
      (await app.inject({ method: 'POST', url: '/api/groups', payload: { name: 'After' }, headers: auth('editor') }))
        .statusCode,
    ).toBe(201)

    // Restart on the store alone: both are there.
    await app.close()
    app = await start(real)
    await app.ready()
    const again = JSON.stringify(
      (await app.inject({ method: 'GET', url: '/api/groups', headers: auth('viewer') })).json(),
    )
    expect(again).toContain('"Kept"')
    expect(again).toContain('"After"')
    await app.close()
    await db.dispose()
    await docDb.dispose()
    await rm(dataDir, { recursive: true, force: true })
  })
})
