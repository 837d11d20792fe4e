import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LinkSigner } from '../../server/auth/signed-links.ts'
import { auth, newServer, tokenEntries, tokens, type TestServer } from './helpers.ts'

/**
 * Short-lived signed download links (issue 12, item 4): the web app asks POST /api/links for a
 * link to one GET request and opens that, so its long-lived token never appears in a URL.
 */
let server: TestServer
const logLines: string[] = []

async function link(role: keyof typeof tokens, path: string): Promise<{ url: string; expiresAt: string }> {
  const r = await server.app.inject({ method: 'POST', url: '/api/links', headers: auth(role), payload: { path } })
  expect(r.statusCode, r.body).toBe(200)
  return r.json() as { url: string; expiresAt: string }
}
const get = (url: string) => server.app.inject({ method: 'GET', url })

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk))
      cb()
    },
  })
  server = await newServer('pglite', {
    logger: { level: 'info', stream },
    rateLimits: { authFailuresPerMinute: 1_000_000 },
  })
  await server.app.inject({ method: 'POST', url: '/api/groups', headers: auth('editor'), payload: { name: 'Signed' } })
})
afterAll(async () => {
  await server?.close()
})

describe('POST /api/links', () => {
  it('gives a link that answers that GET without any token, as the bearer request does', async () => {
    const { url, expiresAt } = await link('viewer', '/api/labels?q=a')
    expect(url).toMatch(/^\/api\/labels\?q=a&sig=/)
    expect(url).not.toContain('token')
    expect(url).not.toContain(tokens.viewer)
    const ttl = Date.parse(expiresAt) - Date.now()
    expect(ttl).toBeGreaterThan(30_000)
    expect(ttl).toBeLessThanOrEqual(61_000)
    const viaLink = await get(url)
    expect(viaLink.statusCode).toBe(200)
    expect(viaLink.json()).toEqual(
      (await server.app.inject({ url: '/api/labels?q=a', headers: auth('viewer') })).json(),
    )
    // The request is the signer's: /api/me through a link names them.
    expect((await get((await link('editor', '/api/me')).url)).json()).toMatchObject({ name: 'eve', role: 'editor' })
  })

  it('is bound to the method, the path and the whole query', async () => {
    const { url } = await link('viewer', '/api/labels?q=a')
    const sig = url.slice(url.indexOf('sig='))
    const tampered = [
      `/api/labels?q=b&${sig}`, // another query value
      `/api/labels?q=a&groupId=x&${sig}`, // a parameter added
      `/api/labels?${sig}`, // a parameter removed
      `/api/groups?q=a&${sig}`, // another path
      `/%61pi/labels?q=a&${sig}`, // the same route spelled differently is not the signed request
      `${url}&q=b`, // appended after the signature
      `/api/labels?q=a&sig=${sig.slice(4, -3)}AAA`, // a forged MAC
      '/api/labels?q=a', // no signature at all
    ]
    for (const u of tampered) expect((await get(u)).statusCode, u).toBe(401)
    for (const method of ['POST', 'DELETE', 'PATCH'] as const) {
      expect(
        (await server.app.inject({ method, url, payload: method === 'DELETE' ? undefined : {} })).statusCode,
        method,
      ).toBe(401)
    }
    expect((await get(url)).statusCode).toBe(200) // the untouched link still works
  })

  it('keeps the role check: a viewer link to an admin route answers 403; a lowered role or a withdrawn operator applies to links already given', async () => {
    expect((await get((await link('viewer', '/api/audit')).url)).statusCode).toBe(403)
    expect((await get((await link('admin', '/api/audit')).url)).statusCode).toBe(200)
    expect((await get((await link('editor', '/api/data/sample')).url)).statusCode).not.toBe(403)
    // Links given before the change (each link serves one request).
    const given = [await link('editor', '/api/data/sample'), await link('editor', '/api/data/sample')]
    server.app.tokens.replace(tokenEntries.map((t) => (t.name === 'eve' ? { ...t, role: 'viewer' as const } : t)))
    try {
      expect((await get(given[0]!.url)).statusCode).toBe(403)
      server.app.tokens.replace(tokenEntries.filter((t) => t.name !== 'eve'))
      expect((await get(given[1]!.url)).statusCode).toBe(401)
    } finally {
      server.app.tokens.replace(tokenEntries)
    }
  })

  it('serves one request: a second GET of the same link answers 401, a new link works', async () => {
    const first = await link('viewer', '/api/labels?q=once')
    expect((await get(first.url)).statusCode).toBe(200)
    const again = await get(first.url)
    expect(again.statusCode).toBe(401)
    expect(again.json().error.message).toMatch(/used already/)
    // Two links for the same target in the same second are distinct links.
    const [a, b] = [await link('viewer', '/api/me'), await link('viewer', '/api/me')]
    expect(a.url).not.toBe(b.url)
    expect((await get(a.url)).statusCode).toBe(200)
    expect((await get(b.url)).statusCode).toBe(200)
  })

  it('gives the link back when the server fails the request (5xx), so it can be retried', async () => {
    const { url } = await link('viewer', '/api/me')
    const signer = server.app.links
    const taken = signer.redeem('GET', url)
    if (taken === null || taken === 'used') throw new Error(`not redeemable: ${String(taken)}`)
    expect(signer.redeem('GET', url)).toBe('used')
    taken.release() // as the auth plugin does on a 5xx or 429 answer
    expect((await get(url)).statusCode).toBe(200)
    expect((await get(url)).statusCode).toBe(401)
  })

  it('expires: a link past its time answers 401', async () => {
    const past = server.app.links.sign({ name: 'vic', role: 'viewer' }, '/api/me', Date.now() - 120_000)
    expect((await get(past.url)).statusCode).toBe(401)
    const fresh = server.app.links.sign({ name: 'vic', role: 'viewer' }, '/api/me', Date.now())
    expect((await get(fresh.url)).statusCode).toBe(200)
  })

  it('signs only GET routes under /api, and needs a token itself', async () => {
    const bad: Array<[string, number]> = [
      ['/collab/main', 400],
      ['http://evil.example/api/me', 400],
      ['//evil.example/api/me', 400],
      ['/api/me#x', 400],
      [`/api/me?token=${tokens.viewer}`, 400],
      ['/api/me?sig=x', 400],
      ['/api/live', 400],
    ]
    for (const [path, status] of bad) {
      const r = await server.app.inject({
        method: 'POST',
        url: '/api/links',
        headers: auth('viewer'),
        payload: { path },
      })
      expect(r.statusCode, path).toBe(status)
    }
    expect(
      (await server.app.inject({ method: 'POST', url: '/api/links', payload: { path: '/api/me' } })).statusCode,
    ).toBe(401)
    // A signed link can't sign another link: POST is never accepted with a signature.
    const { url } = await link('viewer', '/api/me')
    const sig = url.slice(url.indexOf('sig='))
    expect(
      (await server.app.inject({ method: 'POST', url: `/api/links?${sig}`, payload: { path: '/api/me' } })).statusCode,
    ).toBe(401)
  })

  it('is in the OpenAPI document', () => {
    const doc = server.app.swagger() as { paths: Record<string, Record<string, { summary?: string }>> }
    expect(doc.paths['/api/links']?.post?.summary).toMatch(/signed/i)
  })

  it('never writes the signature or a token to the log', async () => {
    const { url } = await link('viewer', '/api/labels?q=logged')
    await get(url)
    const sig = decodeURIComponent(url.slice(url.indexOf('sig=') + 4))
    const log = logLines.join('')
    expect(log).toContain('/api/labels?q=logged&sig=[redacted]')
    expect(log).not.toContain(sig.slice(-20))
    for (const t of Object.values(tokens)) expect(log).not.toContain(t)
  })
})

describe('LinkSigner', () => {
  const op = { name: 'vic', role: 'viewer' as const }
  it('round-trips, binds the target, and refuses other secrets and expired links', () => {
    const a = new LinkSigner()
    const b = new LinkSigner()
    const now = Date.parse('2026-11-30T08:00:00Z')
    const { url } = a.sign(op, '/api/x?y=1', now)
    expect(a.verify('GET', url, now + 59_000)).toEqual(op)
    expect(a.verify('GET', url, now + 61_000)).toBeNull()
    expect(a.verify('HEAD', url, now)).toBeNull()
    expect(b.verify('GET', url, now)).toBeNull()
    expect(a.verify('GET', url.replace('y=1', 'y=2'), now)).toBeNull()
  })
  it('does not expose its secret', () => {
    const s = new LinkSigner()
    expect(JSON.stringify(s)).toBe('{}')
    expect(Object.keys(s)).toEqual([])
  })
})
