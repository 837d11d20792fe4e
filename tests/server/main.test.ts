import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'

let dataDir: string
const root = new URL('../../', import.meta.url).pathname

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'labels-main-'))
})
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

/** Starts `tsx server/main.ts` and resolves with the address it prints. */
function startMain(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LABELS_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /Open: (http:\/\/\S+)/.exec(out)
      if (m) resolve({ child, url: m[1]!, out: () => out })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`main exited with ${code}: ${out}`)))
  })
}

const exitCode = (child: ChildProcess) => new Promise<number | null>((r) => child.once('exit', (code) => r(code)))

it('starts with a demo workspace and a printed admin token, stops on SIGTERM with 0, and keeps its data', async () => {
  const first = await startMain({ LABELS_DEMO_USERS: '300' })
  const token = new URL(first.url).searchParams.get('token')!
  // The web app is built only when its sources changed, and Vite's warnings stay out of the start output.
  expect(first.out()).toMatch(/Building the web app \(only when its sources changed\)… (built in [\d.]+ s|up to date)/)
  expect(first.out()).not.toMatch(/PLUGIN_TIMINGS|direct `eval`|warning/i)
  expect(token).toBe((await readFile(join(dataDir, 'admin-token'), 'utf8')).trim())
  const origin = new URL(first.url).origin
  expect(await (await fetch(`${origin}/api/health`)).json()).toEqual({ status: 'ok', db: 'pglite', tz: 'UTC' })
  const h = { authorization: `Bearer ${token}` }
  const labels = (await (await fetch(`${origin}/api/labels`, { headers: h })).json()) as {
    labels: Array<{ rule: { method: string } }>
  }
  expect(new Set(labels.labels.map((l) => l.rule.method))).toEqual(
    new Set(['custom', 'metric', 'first_last', 'preference', 'distribution', 'import']),
  )
  const groups = (await (await fetch(`${origin}/api/groups`, { headers: h })).json()) as {
    groups: Array<{ name: string }>
  }
  expect(groups.groups.map((g) => g.name)).toEqual(['Default', 'Lifecycle', 'Value', 'Engagement'])
  const exited = exitCode(first.child)
  first.child.kill('SIGTERM')
  expect(await exited).toBe(0)

  const second = await startMain({ LABELS_DEMO_USERS: '300' })
  const origin2 = new URL(second.url).origin
  expect(second.out()).toMatch(/Building the web app \(only when its sources changed\)… up to date/)
  const again = (await (await fetch(`${origin2}/api/labels`, { headers: h })).json()) as { labels: unknown[] }
  expect(again.labels).toHaveLength(6) // not loaded twice
  const exited2 = exitCode(second.child)
  second.child.kill('SIGTERM')
  expect(await exited2).toBe(0)
}, 300_000) // safety bound: the first start builds the web app (tens of seconds on a busy 2-core machine)

it('uses LABELS_TOKENS instead of a token file when set', async () => {
  const s = await startMain({ LABELS_TOKENS: 'ana:ana-token-123:viewer', LABELS_DEMO: '0' })
  const origin = new URL(s.url).origin
  expect(s.url).not.toContain('token=')
  const me = await fetch(`${origin}/api/me`, { headers: { authorization: 'Bearer ana-token-123' } })
  expect(await me.json()).toEqual({ name: 'ana', role: 'viewer', tz: 'UTC' })
  const admin = await fetch(`${origin}/api/me`, {
    headers: { authorization: `Bearer ${(await readFile(join(dataDir, 'admin-token'), 'utf8')).trim()}` },
  })
  expect(admin.status).toBe(401)
  const exited = exitCode(s.child)
  s.child.kill('SIGTERM')
  expect(await exited).toBe(0)
}, 300_000) // safety bound: the first start builds the web app (tens of seconds on a busy 2-core machine)
