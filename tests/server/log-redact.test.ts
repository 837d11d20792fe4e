import { Writable } from 'node:stream'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { redactUrl } from '../../server/http/log-redact.ts'
import { newServer, tokens, type TestServer } from './helpers.ts'

let server: TestServer
const lines: string[] = []

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  server = await newServer('pglite', { logger: { level: 'info', stream } })
})
afterAll(async () => {
  await server?.close()
})

it('redacts token-like query values and keeps the rest of the URL', () => {
  expect(redactUrl('/api/live?token=abc&x=1')).toBe('/api/live?token=[redacted]&x=1')
  expect(redactUrl('/api/labels/a/users?format=csv&TOKEN=abc#f')).toBe(
    '/api/labels/a/users?format=csv&TOKEN=[redacted]#f',
  )
  expect(redactUrl('/api/labels?q=token=abc')).toBe('/api/labels?q=token=abc')
})

it('never writes a token to the server log (query token, bad token, Authorization header)', async () => {
  await server.app.inject({ method: 'GET', url: `/api/labels?token=${tokens.viewer}` })
  await server.app.inject({ method: 'GET', url: '/api/labels?format=csv&token=not-a-real-token-99' })
  await server.app.inject({ method: 'GET', url: '/api/labels', headers: { authorization: `Bearer ${tokens.editor}` } })
  const log = lines.join('')
  expect(log).toContain('/api/labels?token=[redacted]') // the request was logged, redacted
  for (const secret of [tokens.viewer, tokens.editor, 'not-a-real-token-99']) expect(log).not.toContain(secret)
})
