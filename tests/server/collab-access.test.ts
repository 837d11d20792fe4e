/**
 * The collab endpoint's own access checks (issue 12, "smaller gaps"):
 *  - a withdrawn token's idle socket closes as soon as the tokens change (not at its next frame
 *    or the next ping, 30 s later);
 *  - the Origin allow-list also guards the collab plugin used alone (without the app's auth plugin).
 */
import type { IncomingMessage } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { TokenRegistry } from '../../server/auth/tokens.ts'
import { collabPlugin, createSqlDocStore, DocRegistry, type DocStore } from '../../server/collab/index.ts'
import { CollabClose } from '../../shared/doc/index.ts'
import { newDb, type TestDb } from '../helpers/db.ts'
import { newServer, tokenEntries, tokens, type TestServer } from './helpers.ts'

const portOf = (app: FastifyInstance) => (app.server.address() as { port: number }).port

describe('a withdrawn token in the full app', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await newServer('pglite')
    await server.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await server?.close()
  })

  it('closes its idle collab socket (4401) as soon as the tokens change', async () => {
    // A raw socket that sends nothing after the handshake (the stock provider renews its awareness every 15 s,
    // which would close it at its next frame anyway); the ping interval (30 s) is beyond the bound below.
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(server.app)}/collab/main?token=${tokens.editor}`)
    await new Promise<void>((r) => ws.once('message', () => r()))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    server.app.tokens.replace(tokenEntries.filter((t) => t.token !== tokens.editor))
    try {
      const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 10_000))])
      expect(code).toBe(CollabClose.unauthorized)
    } finally {
      server.app.tokens.replace(tokenEntries)
      ws.terminate()
    }
  })
})

describe('the collab plugin used alone', () => {
  let db: TestDb
  let store: DocStore
  let registry: DocRegistry
  let app: FastifyInstance
  const registryTokens = new TokenRegistry(tokenEntries)
  let acquired = 0

  beforeAll(async () => {
    db = await newDb('pglite')
    store = await createSqlDocStore(db)
    registry = new DocRegistry({ store })
    const acquire = registry.acquire.bind(registry)
    registry.acquire = (ws: string) => (acquired++, acquire(ws))
    app = Fastify({ logger: false })
    await app.register(collabPlugin, {
      authenticate: (t) => registryTokens.authenticate(t),
      registry,
      allowedOrigins: ['https://allowed.example'],
      onUsersChanged: (fn) => registryTokens.onChange(fn),
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await app?.close()
    await registry?.close()
    await db?.dispose()
  })

  type Outcome = { kind: 'open' } | { kind: 'http'; status: number; body: string } | { kind: 'close'; code: number }
  const attempt = (origin: string | undefined, token: string = tokens.editor) =>
    new Promise<Outcome>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${portOf(app)}/collab/main?token=${token}`, origin ? { origin } : {})
      ws.on('unexpected-response', (_req, res: IncomingMessage) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ kind: 'http', status: res.statusCode ?? 0, body }))
      })
      ws.on('open', () => ws.once('message', () => (resolve({ kind: 'open' }), ws.close())))
      ws.on('close', (code) => resolve({ kind: 'close', code }))
      ws.on('error', () => {})
    })

  it('refuses a foreign page (403) before reading the token or loading any document', async () => {
    const before = acquired
    for (const origin of ['https://evil.example', 'null', `http://127.0.0.1:${portOf(app)}.evil.example`]) {
      const o = await attempt(origin)
      expect(o, origin).toMatchObject({ kind: 'http', status: 403 })
      // Even with a wrong token the answer is about the origin: the token was never read.
      expect(await attempt(origin, 'wrong-token-1234'), origin).toMatchObject({ kind: 'http', status: 403 })
    }
    expect(acquired).toBe(before)
  })

  it('accepts no Origin (programs), its own origin, and a listed one', async () => {
    expect(await attempt(undefined)).toEqual({ kind: 'open' })
    expect(await attempt(`http://127.0.0.1:${portOf(app)}`)).toEqual({ kind: 'open' })
    expect(await attempt('https://allowed.example')).toEqual({ kind: 'open' })
    expect(app.collabStats.refusedOrigin).toBeGreaterThan(0)
  })

  it('closes an idle socket whose user is revoked, at once', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${portOf(app)}/collab/main?token=${tokens.viewer}`)
    await new Promise<void>((r) => ws.once('message', () => r()))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    registryTokens.replace(tokenEntries.filter((t) => t.token !== tokens.viewer))
    try {
      const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 15_000))])
      expect(code).toBe(CollabClose.unauthorized)
    } finally {
      registryTokens.replace(tokenEntries)
    }
  })
})
