import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, newServer, type TestServer } from './helpers.ts'

let s: TestServer
beforeAll(async () => { s = await newServer() })
afterAll(async () => { await s?.close() })

it('answers health and me', async () => {
  const h = await s.app.inject({ url: '/api/health' })
  expect(h.json()).toEqual({ status: 'ok', db: 'pglite' })
  const me = await s.app.inject({ url: '/api/me', headers: auth('editor') })
  expect(me.json()).toEqual({ name: 'eve', role: 'editor' })
  const no = await s.app.inject({ url: '/api/me' })
  expect(no.statusCode).toBe(401)
  console.log(no.json())
})
