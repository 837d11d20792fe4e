import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { CollabClose, createGroup } from '../../shared/doc/index.ts'
import { TokenFile } from '../../server/auth/token-file.ts'
import { tokenProtocol, WS_PROTOCOL } from '../../shared/ws-protocol.ts'
import { auth, newServer, tokenEntries, tokens, until, type TestServer } from './helpers.ts'

/**
 * Access to the two WebSocket endpoints over a real socket (fault suite, "Access"): who may
 * upgrade, from which page, with the token where (query or subprotocol), what a role change
 * does to an open connection, and what a client that never authenticates can cost.
 */
let server: TestServer
let host = ''
/** DocRegistry.acquire calls: a refused upgrade must never reach the document. */
let acquired = 0

type Outcome =
  | { kind: 'open'; ws: WebSocket; protocol: string }
  | { kind: 'http'; status: number; headers: IncomingMessage['headers'] }
  | { kind: 'close'; code: number }
  | { kind: 'error'; message: string }

/** Opens a raw socket and reports how the server answered: open (with the chosen subprotocol), an HTTP refusal, or a close right after the upgrade. */
function attempt(
  path: string,
  opts: { protocols?: string[]; origin?: string; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}${path}`, opts.protocols ?? [], {
      ...(opts.origin ? { origin: opts.origin } : {}),
      headers: opts.headers ?? {},
    })
    let opened = false
    ws.on('unexpected-response', (_req, res) => {
      resolve({ kind: 'http', status: res.statusCode ?? 0, headers: res.headers })
      ws.terminate()
    })
    ws.on('open', () => {
      opened = true
      // A refused collab socket is closed at once; an accepted one sends sync step 1 first.
      ws.once('message', () => resolve({ kind: 'open', ws, protocol: ws.protocol }))
    })
    ws.on('close', (code) => resolve({ kind: 'close', code }))
    ws.on('error', (e) => {
      if (!opened) resolve({ kind: 'error', message: e.message })
    })
  })
}

/** The live channel answers nothing until subscribed: open is enough. */
function attemptLive(path: string, opts: { protocols?: string[]; origin?: string } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${host}${path}`, opts.protocols ?? [], opts.origin ? { origin: opts.origin } : {})
    ws.on('unexpected-response', (_req, res) => {
      resolve({ kind: 'http', status: res.statusCode ?? 0, headers: res.headers })
      ws.terminate()
    })
    ws.on('open', () => resolve({ kind: 'open', ws, protocol: ws.protocol }))
    ws.on('close', (code) => resolve({ kind: 'close', code }))
    ws.on('error', (e) => resolve({ kind: 'error', message: e.message }))
  })
}

const summary = (o: Outcome) =>
  o.kind === 'open'
    ? `open ${o.protocol}`
    : o.kind === 'http'
      ? `http ${o.status}`
      : o.kind === 'close'
        ? `close ${o.code}`
        : `error ${o.message}`
const done = (o: Outcome) => {
  if (o.kind === 'open') o.ws.terminate()
}

/** The stock y-websocket client, token in the subprotocol as the web app sends it (or in the query). */
function provider(
  token: string,
  how: 'protocol' | 'query' = 'protocol',
): { doc: Y.Doc; p: WebsocketProvider; destroy(): void } {
  const doc = new Y.Doc()
  const p = new WebsocketProvider(`ws://${host}/collab`, 'main', doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    ...(how === 'protocol' ? { protocols: [WS_PROTOCOL, tokenProtocol(token)] } : { params: { token } }),
    disableBc: true,
    maxBackoffTime: 200,
  })
  return { doc, p, destroy: () => (p.destroy(), doc.destroy()) }
}
const synced = (c: { p: WebsocketProvider }) =>
  c.p.synced ? Promise.resolve() : new Promise<void>((r) => c.p.once('sync', (s: boolean) => s && r()))

async function groupNames(): Promise<string[]> {
  const r = await server.app.inject({ url: '/api/groups', headers: auth('admin') })
  const names: string[] = []
  const walk = (gs: Array<{ name: string; children: unknown[] }>) =>
    gs.forEach((g) => (names.push(g.name), walk(g.children as never)))
  walk((r.json() as { groups: Array<{ name: string; children: unknown[] }> }).groups)
  return names
}

beforeAll(async () => {
  server = await newServer('pglite', { rateLimits: { authFailuresPerMinute: 1_000_000 } })
  const registry = server.app.collab
  const acquire = registry.acquire.bind(registry)
  registry.acquire = (ws: string) => (acquired++, acquire(ws))
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = server.app.server.address()
  host = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
})
afterAll(async () => {
  await server?.close()
})

describe('upgrades that are refused before any document loads', () => {
  it('no token, a wrong token (query or subprotocol), an encoded path, a foreign or null Origin', async () => {
    const before = {
      acquired,
      connections: server.app.collabStats.connections,
      refusedOrigin: server.app.collabStats.refusedOrigin,
    }
    const cases: Array<[string, Parameters<typeof attempt>[1], string[]]> = [
      ['/collab/main', {}, ['close 4401']],
      ['/collab/main?token=wrong-token-1234', {}, ['close 4401']],
      ['/collab/main', { protocols: [WS_PROTOCOL, tokenProtocol('wrong-token-1234')] }, ['close 4401']],
      ['/%63ollab/main', {}, ['close 4401', 'http 401']],
      ['/collab/%6dain?token=wrong-token-1234', {}, ['close 4401', 'http 401']],
      // A page on another site holding a valid token (a leaked one, or a CSRF-style socket): refused by Origin.
      [`/collab/main?token=${tokens.editor}`, { origin: 'https://evil.example' }, ['http 403']],
      [
        '/collab/main',
        { origin: 'https://evil.example', protocols: [WS_PROTOCOL, tokenProtocol(tokens.editor)] },
        ['http 403'],
      ],
      [`/collab/main?token=${tokens.editor}`, { origin: 'null' }, ['http 403']],
      [`/collab/main?token=${tokens.editor}`, { origin: `http://${host}.evil.example` }, ['http 403']],
      [`/%63ollab/main?token=${tokens.editor}`, { origin: 'https://evil.example' }, ['http 403']],
    ]
    const wrong: string[] = []
    for (const [path, opts, expected] of cases) {
      const o = await attempt(path, opts)
      done(o)
      if (!expected.includes(summary(o)))
        wrong.push(`${path} ${JSON.stringify(opts)} → ${summary(o)} (expected ${expected.join(' or ')})`)
    }
    expect(wrong).toEqual([])
    expect(acquired).toBe(before.acquired) // not even leased: nothing loaded for a refused socket
    expect(server.app.collabStats.connections).toBe(before.connections)
    // Checked once, by the collab plugin, which counts them (the auth plugin used to refuse them first).
    expect(server.app.collabStats.refusedOrigin - before.refusedOrigin).toBe(cases.filter(([, o]) => o?.origin).length)
  })

  it('the live channel: foreign Origin refused even with a valid token; no token refused in every spelling', async () => {
    const wrong: string[] = []
    const cases: Array<[string, Parameters<typeof attemptLive>[1], string]> = [
      [`/api/live?token=${tokens.viewer}`, { origin: 'https://evil.example' }, 'http 403'],
      [
        '/api/live',
        { origin: 'https://evil.example', protocols: [WS_PROTOCOL, tokenProtocol(tokens.viewer)] },
        'http 403',
      ],
      [`/%61pi/live?token=${tokens.viewer}`, { origin: 'https://evil.example' }, 'http 403'],
      ['/api/live', {}, 'http 401'],
      ['/%61pi/live', { protocols: [WS_PROTOCOL, tokenProtocol('wrong-token-1234')] }, 'http 401'],
    ]
    for (const [path, opts, expected] of cases) {
      const o = await attemptLive(path, opts)
      done(o)
      if (summary(o) !== expected) wrong.push(`${path} ${JSON.stringify(opts)} → ${summary(o)} (expected ${expected})`)
    }
    expect(wrong).toEqual([])
  })

  it('accepts the same origin and clients that send no Origin (programs)', async () => {
    for (const origin of [`http://${host}`, undefined]) {
      const c = await attempt(`/collab/main?token=${tokens.viewer}`, origin ? { origin } : {})
      expect(summary(c), String(origin)).toBe('open ')
      done(c)
      const l = await attemptLive(`/api/live?token=${tokens.viewer}`, origin ? { origin } : {})
      expect(summary(l), String(origin)).toBe('open ')
      done(l)
    }
  })
})

describe('the token in a subprotocol, never in the URL', () => {
  it('the stock y-websocket client syncs and writes with the token only in Sec-WebSocket-Protocol; the server echoes labels.v1, never the token', async () => {
    const o = await attempt('/collab/main', { protocols: [WS_PROTOCOL, tokenProtocol(tokens.editor)] })
    expect(summary(o)).toBe(`open ${WS_PROTOCOL}`)
    done(o)
    const c = provider(tokens.editor)
    try {
      await synced(c)
      expect(c.p.url).not.toContain('token')
      createGroup(c.doc, { name: 'Via subprotocol' }, { kind: 'local', actor: 'eve' })
      await until(async () => (await groupNames()).includes('Via subprotocol'))
    } finally {
      c.destroy()
    }
  })

  it('a client offering only the token protocol gets no subprotocol back (the token is never echoed)', async () => {
    const o = await attempt(`/collab/main?token=${tokens.viewer}`, { protocols: [tokenProtocol(tokens.viewer)] })
    // ws refuses a handshake without the subprotocol it asked for; what matters is the header.
    expect(o.kind === 'open' ? o.protocol : '').not.toContain(tokens.viewer)
    done(o)
    const res = await new Promise<IncomingMessage>((resolve) => {
      const ws = new WebSocket(`ws://${host}/collab/main`, [tokenProtocol(tokens.viewer)])
      ws.on('upgrade', (r) => resolve(r))
      ws.on('unexpected-response', (_q, r) => resolve(r))
      ws.on('error', () => {})
    })
    expect(String(res.headers['sec-websocket-protocol'] ?? '')).not.toContain('labels.token')
  })

  it('the live channel takes the token from the subprotocol', async () => {
    const o = await attemptLive('/api/live', { protocols: [WS_PROTOCOL, tokenProtocol(tokens.viewer)] })
    expect(summary(o)).toBe(`open ${WS_PROTOCOL}`)
    if (o.kind !== 'open') return
    const reply = new Promise<string>((r) => o.ws.once('message', (d) => r(String(d))))
    o.ws.send(JSON.stringify({ subscribe: ['runs:*'] }))
    expect(JSON.parse(await reply)).toEqual({ type: 'subscribed', topics: ['runs:*'] })
    o.ws.terminate()
  })
})

describe('a role changed while connected', () => {
  it('a lowered role takes effect on the next write (tokens file re-read); a withdrawn token closes the socket (4401)', async () => {
    const file = join(server.dataDir, 'tokens')
    const line = (role: string) =>
      tokenEntries.map((t) => `${t.name}:${t.token}:${t.name === 'eve' ? role : t.role}`).join('\n') + '\n'
    await writeFile(file, line('editor'))
    const tf = new TokenFile(file, server.app.tokens)
    await tf.reload()
    const c = provider(tokens.editor)
    const denied: string[] = []
    try {
      await synced(c)
      createGroup(c.doc, { name: 'Before demotion' }, { kind: 'local', actor: 'eve' })
      await until(async () => (await groupNames()).includes('Before demotion'))

      await writeFile(file, line('viewer'))
      await tf.reload()
      expect(server.app.tokens.authenticate(tokens.editor)?.role).toBe('viewer')
      // REST: the next request is checked against the new role.
      expect(
        (
          await server.app.inject({
            method: 'POST',
            url: '/api/groups',
            headers: auth('editor'),
            payload: { name: 'x' },
          })
        ).statusCode,
      ).toBe(403)
      // The open socket: the next write is refused (permission denied), the connection stays for reading.
      const deniedMsg = new Promise<void>((resolve) => {
        const ws = c.p.ws as unknown as WebSocket
        ws.addEventListener('message', (ev) => {
          const bytes = new Uint8Array(ev.data as ArrayBuffer)
          if (bytes[0] === 2) denied.push('auth'), resolve() // y-protocols auth message: permission denied
        })
      })
      createGroup(c.doc, { name: 'After demotion' }, { kind: 'local', actor: 'eve' })
      await deniedMsg
      // A later write by someone still allowed reaches the server; the demoted one never does.
      await server.app.inject({
        method: 'POST',
        url: '/api/groups',
        headers: auth('admin'),
        payload: { name: 'Admin marker' },
      })
      await until(async () => (await groupNames()).includes('Admin marker'))
      expect(await groupNames()).not.toContain('After demotion')
      expect(denied).toEqual(['auth'])

      // Withdrawn: the token is no longer in the file.
      const closed = new Promise<number>((r) =>
        c.p.once('connection-close', (ev: CloseEvent | null) => r(ev?.code ?? 0)),
      )
      await writeFile(
        file,
        tokenEntries
          .filter((t) => t.name !== 'eve')
          .map((t) => `${t.name}:${t.token}:${t.role}`)
          .join('\n') + '\n',
      )
      await tf.reload()
      expect(server.app.tokens.authenticate(tokens.editor)).toBeNull()
      createGroup(c.doc, { name: 'After withdrawal' }, { kind: 'local', actor: 'eve' })
      expect(await closed).toBe(CollabClose.unauthorized)
      expect(await groupNames()).not.toContain('After withdrawal')
    } finally {
      c.destroy()
      await writeFile(file, line('editor'))
      await tf.reload()
    }
  })

  it('a bad tokens file on reload keeps the tokens in force (nobody is locked out)', async () => {
    const file = join(server.dataDir, 'tokens-bad')
    await writeFile(file, tokenEntries.map((t) => `${t.name}:${t.token}:${t.role}`).join('\n'))
    const tf = new TokenFile(file, server.app.tokens)
    await tf.reload()
    await writeFile(file, 'eve:short:editor\n')
    await expect(tf.reload()).rejects.toThrow(/shorter than 8/)
    expect(server.app.tokens.authenticate(tokens.editor)?.role).toBe('editor')
  })

  it('LABELS_TOKENS_FILE is re-read when the file changes (as main watches it)', async () => {
    const file = join(server.dataDir, 'tokens-watched')
    const write = (role: string) =>
      writeFile(
        file,
        tokenEntries.map((t) => `${t.name}:${t.token}:${t.name === 'vic' ? role : t.role}`).join('\n') + '\n',
      )
    await write('viewer')
    const tf = new TokenFile(file, server.app.tokens)
    await tf.reload()
    const logged: string[] = []
    const stop = tf.watch({ info: (m) => logged.push(m), error: (m) => logged.push(m) })
    try {
      await write('admin')
      await until(async () => server.app.tokens.authenticate(tokens.viewer)?.role === 'admin')
      expect(logged.join('\n')).not.toContain(tokens.viewer)
    } finally {
      stop()
      server.app.tokens.replace(tokenEntries)
    }
  })

  it('a live-channel socket whose token is withdrawn is closed (4401)', async () => {
    const o = await attemptLive('/api/live', { protocols: [WS_PROTOCOL, tokenProtocol(tokens.viewer)] })
    if (o.kind !== 'open') throw new Error(summary(o))
    const closed = new Promise<number>((r) => o.ws.once('close', (code) => r(code)))
    server.app.tokens.replace(tokenEntries.filter((t) => t.name !== 'vic'))
    try {
      expect(await closed).toBe(CollabClose.unauthorized)
    } finally {
      server.app.tokens.replace(tokenEntries)
    }
  })
})

describe('a client that never authenticates', () => {
  it('is closed (4401) while it floods frames; nothing is loaded, leased or buffered for it', async () => {
    const before = {
      acquired,
      connections: server.app.collabStats.connections,
      refused: server.app.collabStats.refusedAuth,
    }
    const frame = Buffer.alloc(1024 * 1024, 1)
    const sockets = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<{ sent: number; code: number }>((resolve) => {
            const ws = new WebSocket(`ws://${host}/collab/main`, [WS_PROTOCOL, tokenProtocol('wrong-token-1234')])
            let sent = 0
            ws.on('close', (code) => resolve({ sent, code }))
            ws.on('error', () => {})
            ws.on('open', () => {
              const pump = () => {
                // Flood as fast as the socket takes it, up to 256 MiB, until the server closes it.
                if (ws.readyState !== WebSocket.OPEN || sent >= 256) return
                sent++
                ws.send(frame, { binary: true }, () => setImmediate(pump))
              }
              pump()
            })
          }),
      ),
    )
    for (const s of sockets) {
      expect(s.code).toBe(CollabClose.unauthorized)
      expect(s.sent).toBeLessThan(256) // cut off long before the flood ends
    }
    expect(acquired).toBe(before.acquired)
    expect(server.app.collabStats.connections).toBe(before.connections)
    expect(server.app.collabStats.refusedAuth).toBe(before.refused + 8)
    await until(async () => server.app.websocketServer.clients.size === 0)
  })
})
