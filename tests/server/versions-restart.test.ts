import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { EngineService } from '../../engine/service.ts'
import { buildApp } from '../../server/app.ts'
import { createSqlDocStore } from '../../server/collab/index.ts'
import { describeEachDb, newDb, type TestDb } from '../helpers/db.ts'
import { auth, tokenEntries } from './helpers.ts'

describeEachDb('label versions across restarts', (kind) => {
  let engineDb: TestDb, otherEngineDb: TestDb, docDb: TestDb
  let dataDir = ''
  beforeAll(async () => {
    ;[engineDb, otherEngineDb, docDb] = await Promise.all([newDb(kind), newDb(kind), newDb(kind)])
    dataDir = await mkdtemp(join(tmpdir(), 'labels-versions-'))
  })
  afterAll(async () => {
    await Promise.all([engineDb?.dispose(), otherEngineDb?.dispose(), docDb?.dispose()])
    await rm(dataDir, { recursive: true, force: true })
  })

  const start = async (db: TestDb) => {
    const engine = new EngineService(db)
    await engine.migrate()
    const app = await buildApp({
      engine,
      db: db.kind,
      dataDir,
      tokens: tokenEntries,
      docStore: await createSqlDocStore(docDb),
      strictResponses: true,
      calc: { concurrency: 1 },
    })
    await app.ready()
    return app
  }
  const versions = async (app: Awaited<ReturnType<typeof start>>, label: string) =>
    (await app.inject({ url: `/api/labels/${label}/versions`, headers: auth('viewer') })).json().versions as Array<{
      n: number
      kind: string
      actor: string
    }>

  it('keeps versions through a restart, and starts the history of labels that had none with a baseline', async () => {
    const a = await start(engineDb)
    const rule = { method: 'import' }
    expect(
      (
        await a.inject({
          method: 'POST',
          url: '/api/labels',
          payload: { name: 'kept', displayName: 'Kept', dataType: 'string', labelType: 'static', rule },
          headers: auth('editor'),
        })
      ).statusCode,
    ).toBe(201)
    expect(
      (
        await a.inject({
          method: 'PATCH',
          url: '/api/labels/kept',
          payload: { displayName: 'Kept!' },
          headers: auth('admin'),
        })
      ).statusCode,
    ).toBe(200)
    await a.close()

    const b = await start(engineDb)
    expect((await versions(b, 'kept')).map((v) => [v.n, v.kind, v.actor])).toEqual([
      [2, 'updated', 'ada'],
      [1, 'created', 'eve'],
    ])
    await b.close()

    // The same workspace over an engine database without any version (a server older than the history).
    const c = await start(otherEngineDb)
    expect((await versions(c, 'kept')).map((v) => [v.n, v.kind, v.actor])).toEqual([[1, 'baseline', 'unknown']])
    expect(
      (
        await c.inject({
          method: 'PATCH',
          url: '/api/labels/kept',
          payload: { description: 'x' },
          headers: auth('editor'),
        })
      ).statusCode,
    ).toBe(200)
    expect((await versions(c, 'kept')).map((v) => [v.n, v.kind])).toEqual([
      [2, 'updated'],
      [1, 'baseline'],
    ])
    await c.close()
  })
})
