import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { roleAllows } from '../../server/auth/roles.ts'
import { auth, newServer, tokens, type TestServer } from './helpers.ts'

/**
 * The router matches the percent-decoded path, so authentication must be decided by the
 * route it chose, never by the URL string (`/%61pi/labels` once answered 200 without a token).
 * Every path of the OpenAPI document, plus the hidden ones, is requested in encoded spellings.
 */
let server: TestServer
let base: string
let operations: Array<{ method: string; path: string }>

/** Spellings the router reads as the same path: each ASCII letter of /api, or a later one, escaped. */
function spellings(path: string): string[] {
  const rest = path.slice('/api'.length)
  const escapeFirst = (s: string) => s.replace(/^\/([a-z])/, (_m, c: string) => `/%${c.charCodeAt(0).toString(16)}`)
  return [
    path,
    `/%61pi${rest}`,
    `/ap%69${rest}`,
    `/a%70i${rest}`,
    `/%61%70%69${rest}`,
    `/%61%50%49${rest}`.replace('%50%49', 'pi'), // lower-case hex spelled differently
    `/api${escapeFirst(rest)}`,
    `/%61pi${escapeFirst(rest)}`,
  ].filter((p, i, all) => all.indexOf(p) === i)
}

type Role = 'viewer' | 'editor' | 'admin'
type Need = Role | 'public'
const roles: Role[] = ['viewer', 'editor', 'admin']

/**
 * Every route the server declares and the weakest role it needs (SPEC §10: viewer reads,
 * editor edits and calculates, admin ingests). The test fails when a route is added, removed
 * or changes its role without this table.
 */
/** `none`: outside /api, not this plugin's check (the page is public; /collab checks its token itself, viewers read-only). */
const matrix: Record<string, Need | 'none'> = {
  'GET /api/health': 'public',
  'GET /api/me': 'viewer',
  'GET /api/audit': 'admin',
  'GET /api/docs': 'viewer',
  'POST /api/links': 'viewer',
  'GET /api/live': 'viewer',
  'GET /api/data/schema': 'viewer',
  'POST /api/data/users': 'admin',
  'POST /api/data/events': 'admin',
  'GET /api/data/sample': 'editor',
  'GET /api/groups': 'viewer',
  'POST /api/groups': 'editor',
  'PATCH /api/groups/:id': 'editor',
  'DELETE /api/groups/:id': 'editor',
  'GET /api/labels': 'viewer',
  'POST /api/labels': 'editor',
  'GET /api/labels/:label': 'viewer',
  'PATCH /api/labels/:label': 'editor',
  'DELETE /api/labels/:label': 'editor',
  'POST /api/labels/:label/calculate': 'editor',
  'GET /api/labels/:label/runs': 'viewer',
  'GET /api/drafts': 'viewer',
  'POST /api/drafts': 'editor',
  'GET /api/drafts/:draft': 'viewer',
  'PATCH /api/drafts/:draft': 'editor',
  'POST /api/drafts/:draft/publish': 'editor',
  'DELETE /api/drafts/:draft': 'editor',
  'GET /api/labels/:label/draft': 'viewer',
  'GET /api/runs/:runId': 'viewer',
  'GET /api/runs/:runId/plan': 'viewer',
  'GET /api/labels/:label/distribution': 'viewer',
  'GET /api/labels/:label/history': 'viewer',
  'GET /api/labels/:label/history/buckets': 'viewer',
  'PUT /api/labels/:label/history/buckets': 'editor',
  'POST /api/labels/:label/backfill': 'editor',
  'GET /api/labels/:label/backfills': 'viewer',
  'GET /api/backfills/:backfillId': 'viewer',
  'DELETE /api/backfills/:backfillId': 'editor',
  'GET /api/labels/:label/users': 'viewer',
  'GET /api/users/:userId/labels': 'viewer',
  'POST /api/labels/:label/import': 'editor',
  'POST /api/preview': 'editor',
  'GET /api/labels/:label/versions': 'viewer',
  'GET /api/labels/:label/versions/:n': 'viewer',
  'POST /api/labels/:label/compare': 'editor',
  'GET /api/labels/:label/explain/:userId': 'viewer',
  // Outside /api: the web app's page (public) and the collab endpoint (its own token check).
  'GET /': 'none',
  'GET /collab/:workspace': 'none',
}
const wsRoutes = new Set(['GET /api/live', 'GET /collab/:workspace'])

/** How a WebSocket upgrade ended: open (collab: after its first frame), an HTTP refusal, or a close. */
function socketOutcome(path: string, waitFrame = false): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${base}${path}`)
    const end = (v: string) => (resolve(v), ws.terminate())
    ws.on('unexpected-response', (_req, res) => end(`http ${res.statusCode}`))
    ws.on('open', () => (waitFrame ? ws.once('message', () => end('open')) : end('open')))
    ws.on('close', (code) => end(`close ${code}`))
    ws.on('error', () => end('error'))
  })
}

/** OpenAPI `{param}` placeholders filled with a value no route rejects before auth. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'x1')

beforeAll(async () => {
  // Hundreds of deliberate failures from one address: lift the failed-login limit (rate-limits.test.ts covers it).
  server = await newServer('pglite', { rateLimits: { authFailuresPerMinute: 1_000_000 } })
  const doc = server.app.swagger() as { paths: Record<string, Record<string, unknown>> }
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map((m) => ({ method: m.toUpperCase(), path: concrete(path) })),
  )
  // Hidden from the document but routes all the same.
  operations.push({ method: 'GET', path: '/api/docs' }, { method: 'GET', path: '/api/no-such-route' })
  await server.app.listen({ port: 0, host: '127.0.0.1' })
  const addr = server.app.server.address()
  base = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`
})
afterAll(async () => {
  await server?.close()
})

describe('authentication is decided by the route, not the URL string', () => {
  it('covers the whole API document', () => {
    expect(operations.length).toBeGreaterThan(20)
    expect(operations.some((o) => o.path === '/api/labels' && o.method === 'GET')).toBe(true)
  })

  it('answers 401 to every API operation in every encoded spelling without a token (health excepted)', async () => {
    const leaks: string[] = []
    for (const op of operations) {
      if (op.path === '/api/health') continue
      for (const url of spellings(op.path)) {
        for (const headers of [{}, { authorization: 'Bearer wrong-token-1234' }]) {
          const r = await server.app.inject({
            method: op.method as 'GET',
            url,
            headers: { ...headers, 'content-type': 'application/json' },
            payload: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{}',
          })
          if (r.statusCode !== 401)
            leaks.push(
              `${op.method} ${url} ${Object.keys(headers).length ? 'bad token' : 'no token'} → ${r.statusCode}`,
            )
        }
      }
    }
    expect(leaks).toEqual([])
  })

  it('also over a real socket, where no test harness normalises the URL', async () => {
    for (const url of ['/%61pi/labels', '/ap%69/audit', '/%61%70%69/data/sample', '/api/%61udit']) {
      const res = await fetch(`http://${base}${url}`)
      expect(res.status, url).toBe(401)
    }
    const health = await fetch(`http://${base}/%61pi/health`)
    expect(health.status).toBe(200)
  })

  it('route × role: every route is in the matrix, and each role gets exactly what the matrix says, in encoded spellings and through signed links', async () => {
    // A route added without its entry here fails: decide its role (routes without config.role need admin).
    const declared = server.app.routeAccess
      .filter((r) => r.method !== 'HEAD')
      .map((r) => `${r.method} ${r.url} ${r.access}`)
    expect(declared.sort()).toEqual(
      Object.entries(matrix)
        .map(([route, access]) => `${route} ${access}`)
        .sort(),
    )

    const wrong: string[] = []
    const expect2 = (what: string, status: number, need: Need, role: Role | null) => {
      const ok = need === 'public' || (role !== null && roleAllows(role, need))
      const want = ok ? 'allowed' : role === null ? '401' : '403'
      const got = status === 401 ? '401' : status === 403 ? '403' : 'allowed'
      if (got !== want) wrong.push(`${what} as ${role ?? 'nobody'} → ${status} (want ${want})`)
    }
    for (const [route, need] of Object.entries(matrix)) {
      const [method, pattern] = route.split(' ') as [string, string]
      if (need === 'none' || wsRoutes.has(route)) continue
      const path = concrete(pattern.replace(/:(\w+)/g, '{$1}'))
      for (const role of [null, ...roles]) {
        for (const url of [path, `/%61pi${path.slice(4)}`]) {
          const headers = { ...(role ? auth(role) : {}), 'content-type': 'application/json' }
          const r = await server.app.inject({
            method: method as 'GET',
            url,
            headers,
            payload: method === 'GET' || method === 'DELETE' ? undefined : '{}',
          })
          expect2(`${method} ${url}`, r.statusCode, need, role)
        }
        if (method === 'GET' && role !== null && need !== 'public') {
          // A signed link keeps its signer's role check (and works for no other method).
          const holder = { admin: 'ada', editor: 'eve', viewer: 'vic' }[role]
          const signed = server.app.links.sign({ name: holder, role }, path).url
          expect2(
            `${method} ${signed} (signed link)`,
            (await server.app.inject({ method: 'GET', url: signed })).statusCode,
            need,
            role,
          )
        }
      }
    }
    expect(wrong).toEqual([])

    // The WebSocket rows, over a real socket.
    const live = async (token: string | null) => socketOutcome(`/api/live${token ? `?token=${token}` : ''}`)
    expect(await live(null)).toBe('http 401')
    expect(await live(tokens.viewer)).toBe('open')
    const collab = async (token: string | null) => socketOutcome(`/collab/main${token ? `?token=${token}` : ''}`, true)
    expect(await collab(null)).toBe('close 4401')
    expect(await collab(tokens.viewer)).toBe('open')
  })

  it('refuses the live channel upgrade in encoded spellings without a valid token', async () => {
    for (const path of spellings('/api/live')) {
      for (const query of ['', '?token=wrong-token-1234']) {
        const ws = new WebSocket(`ws://${base}${path}${query}`)
        const status = await new Promise<number>((resolve) => {
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
          ws.on('open', () => resolve(101))
          ws.on('error', () => resolve(-1))
        })
        ws.terminate()
        expect(status, path + query).toBe(401)
      }
    }
  })

  it('refuses the collaboration socket in encoded spellings without a valid token, before any document loads', async () => {
    const stats = () =>
      (server.app as unknown as { collabStats: { documents: number; refusedAuth: number } }).collabStats
    const before = stats()
    for (const path of ['/collab/main', '/%63ollab/main', '/collab/%6dain', '/%63%6f%6c%6c%61%62/main']) {
      const ws = new WebSocket(`ws://${base}${path}`)
      const outcome = await new Promise<string>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`))
        ws.on('close', (code) => resolve(`close ${code}`))
        ws.on('error', () => resolve('error'))
      })
      ws.terminate()
      expect(['close 4401', 'http 401'], path).toContain(outcome)
    }
    expect(stats().documents).toBe(before.documents)
    expect(stats().refusedAuth).toBe(before.refusedAuth + 4)
  })
})
