import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { auth, newServer, type TestServer } from './helpers.ts'

let s: TestServer
let placeholder: TestServer
let clientDir: string

beforeAll(async () => {
  clientDir = await mkdtemp(join(tmpdir(), 'labels-client-'))
  await mkdir(join(clientDir, 'assets'))
  await writeFile(join(clientDir, 'index.html'), '<!doctype html><title>Labels app</title>')
  await writeFile(join(clientDir, 'assets', 'app.js'), 'console.log(1)')
  s = await newServer('pglite', { clientDir })
  placeholder = await newServer('pglite', { clientDir: join(clientDir, 'missing') })
})
afterAll(async () => {
  await s?.close()
  await placeholder?.close()
  await rm(clientDir, { recursive: true, force: true })
})

it('serves the built web app, its assets and its client-side routes', async () => {
  expect((await s.app.inject({ url: '/' })).body).toContain('Labels app')
  expect((await s.app.inject({ url: '/assets/app.js' })).body).toBe('console.log(1)')
  const deep = await s.app.inject({ url: '/labels/some-label' })
  expect(deep.statusCode).toBe(200)
  expect(deep.body).toContain('Labels app')
})

it('keeps JSON 404s under /api even with the app shell', async () => {
  const r = await s.app.inject({ url: '/api/nothing', headers: auth('viewer') })
  expect(r.statusCode).toBe(404)
  expect(r.json().error.code).toBe('not_found')
})

it('serves a placeholder page when the web app is not built', async () => {
  const r = await placeholder.app.inject({ url: '/' })
  expect(r.statusCode).toBe(200)
  expect(r.body).toContain('npm run build:client')
})
