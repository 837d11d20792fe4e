import { expect } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { EngineService, type EngineServiceOptions } from '../../engine/service.ts'
import { buildApp, type AppOptions } from '../../server/app.ts'
import type { TokenEntry } from '../../server/auth/tokens.ts'
import { createSqlDocStore } from '../../server/collab/index.ts'
import { newDb, type DbKind } from '../helpers/db.ts'

export const tokens = {
  admin: 'admin-token-0001',
  editor: 'editor-token-0001',
  viewer: 'viewer-token-0001',
} as const

export const tokenEntries: TokenEntry[] = [
  { name: 'ada', token: tokens.admin, role: 'admin' },
  { name: 'eve', token: tokens.editor, role: 'editor' },
  { name: 'vic', token: tokens.viewer, role: 'viewer' },
]

export const auth = (role: keyof typeof tokens) => ({ authorization: `Bearer ${tokens[role]}` })

export interface TestServer {
  app: FastifyInstance
  engine: EngineService
  dataDir: string
  close(): Promise<void>
}

/** A full app over a real in-process engine on a fresh database, with three operators. */
export async function newServer(
  kind: DbKind = 'pglite',
  opts: Partial<AppOptions> = {},
  engineOpts: EngineServiceOptions = {},
): Promise<TestServer> {
  const db = await newDb(kind)
  const engine = new EngineService(db, engineOpts)
  await engine.migrate()
  // The collaborative document has its own store, as in production (PGlite can't be shared across threads).
  const docDb = await newDb(kind)
  const docStore = await createSqlDocStore(docDb)
  const dataDir = await mkdtemp(join(tmpdir(), 'labels-server-'))
  const app = await buildApp({
    engine,
    db: db.kind,
    dataDir,
    tokens: tokenEntries,
    docStore,
    strictResponses: true,
    calc: { concurrency: 1 },
    ...opts,
  })
  await app.ready()
  return {
    app,
    engine,
    dataDir,
    async close() {
      await app.close()
      await db.dispose()
      await docDb.dispose()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** NDJSON text of records. */
export const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n'

/** Waits until `fn` returns a truthy value (polling), or fails after `ms`. */
export async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Creates a label as an editor (`labelType` static and `displayName` its name unless given),
 * expects 201, and waits for its first run to succeed; returns its id.
 */
export async function createLabel(
  app: FastifyInstance,
  fields: { name: string; dataType: string; rule: object } & Record<string, unknown>,
): Promise<string> {
  const r = await app.inject({
    method: 'POST',
    url: '/api/labels',
    headers: auth('editor'),
    payload: { displayName: fields.name, labelType: 'static', ...fields },
  })
  expect(r.statusCode, r.body).toBe(201)
  const id = r.json().id as string
  await until(
    async () =>
      (await app.inject({ url: `/api/labels/${id}`, headers: auth('viewer') })).json().lastRun?.status === 'succeeded',
  )
  return id
}
