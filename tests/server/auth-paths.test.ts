import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auth, newServer, type TestServer } from './helpers.ts'

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
afterAll(async () => { await server?.close() })

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
          const r = await server.app.inject({ method: op.method as 'GET', url, headers: { ...headers, 'content-type': 'application/json' }, payload: op.method === 'GET' || op.method === 'DELETE' ? undefined : '{}' })
          if (r.statusCode !== 401) leaks.push(`${op.method} ${url} ${Object.keys(headers).length ? 'bad token' : 'no token'} → ${r.statusCode}`)
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

  it('enforces the role on encoded spellings too (route × role)', async () => {
    const wrong: string[] = []
    for (const op of operations) {
      if (op.path === '/api/health' || op.method === 'GET') continue
      for (const url of spellings(op.path)) {
        const r = await server.app.inject({ method: op.method as 'POST', url, headers: { ...auth('viewer'), 'content-type': 'application/json' }, payload: op.method === 'DELETE' ? undefined : '{}' })
        if (r.statusCode !== 403) wrong.push(`${op.method} ${url} as viewer → ${r.statusCode}`)
      }
    }
    expect(wrong).toEqual([])
    for (const url of spellings('/api/audit')) {
      const r = await server.app.inject({ method: 'GET', url, headers: auth('editor') })
      expect(r.statusCode, url).toBe(403)
    }
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
    const stats = () => (server.app as unknown as { collabStats: { documents: number; refusedAuth: number } }).collabStats
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
