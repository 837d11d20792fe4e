/**
 * The fault suite's server: the whole app in a child process on a real data directory
 * (tests/server/collab/fixtures/serve.ts --app), so it can be killed with SIGKILL and started
 * again on what it left on disk, with the same tokens as tests/server/helpers.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { tokens } from '../server/helpers.ts'

export interface AppProcess {
  http: string
  collab: string
  child: ChildProcess
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string | null>
  kill9(): Promise<void>
  /** SIGTERM: the graceful shutdown. */
  stop(): Promise<void>
  /** The last 4000 characters the process wrote to stderr, and how it exited (null while running). */
  diagnosis(): string
}

const fixture = join(import.meta.dirname, '../server/collab/fixtures/serve.ts')

/**
 * Starts the app on `dir`; `env` adds to the environment (FAULT_CLOCK_OFFSET_MS, FAULT_LOG),
 * `nodeArgs` to Node's own flags (the soak bench's `--cpu-prof`).
 */
export function startApp(dir: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<AppProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', fixture, '--app', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    const exited = new Promise<number | string | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)))
    let out = ''
    let err = ''
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000)
    })
    const onExit = (code: number | null) => reject(new Error(`app exited (${code}) before listening:\n${err}`))
    child.once('exit', onExit)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{"port"'))
      if (!line) return
      out = ''
      child.off('exit', onExit)
      const { port } = JSON.parse(line) as { port: number }
      resolve({
        http: `http://127.0.0.1:${port}`,
        collab: `ws://127.0.0.1:${port}/collab`,
        child,
        exited,
        kill9: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
          await exited
        },
        diagnosis: () => `exit ${child.exitCode ?? child.signalCode ?? 'none yet'}; stderr: ${err.slice(-2000)}`,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
          await exited
        },
      })
    })
  })
}

export type Role = keyof typeof tokens
export const bearer = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` })

/** fetch against the app with a role's token; JSON bodies are serialised (replies are `any`: tests check them field by field). */
export async function api(
  base: string,
  role: Role,
  path: string,
  init: { method?: string; json?: unknown; body?: string | Uint8Array; type?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever JSON the route answered
): Promise<{ status: number; body: string; json: () => any; headers: Headers }> {
  const headers: Record<string, string> = { ...bearer(role) }
  let body: string | Uint8Array | undefined = init.body
  if (init.json !== undefined) {
    body = JSON.stringify(init.json)
    headers['content-type'] = 'application/json'
  }
  if (init.type) headers['content-type'] = init.type
  const r = await fetch(base + path, {
    method: init.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    ...(body !== undefined ? { body: body as BodyInit } : {}),
  })
  const text = await r.text()
  return { status: r.status, body: text, json: () => JSON.parse(text), headers: r.headers }
}

/** Polls `fn` until it returns a truthy value (a ceiling, not a timing). */
export async function poll<T>(fn: () => Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => null)
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** FAULT_ROUNDS (the soak bench sets 20), else `ci`. */
export const faultRounds = (ci: number): number => {
  const n = Number(process.env.FAULT_ROUNDS)
  return Number.isInteger(n) && n > 0 ? n : ci
}

/** A seeded PRNG for kill delays, so a failing round can be replayed with FAULT_SEED. */
export function rng(seed = Number(process.env.FAULT_SEED ?? Date.now() % 1e9)): { seed: number; next(): number } {
  let s = seed >>> 0
  return {
    seed,
    next: () => {
      s = (s + 0x6d2b79f5) >>> 0
      let t = s
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
  }
}

/** NDJSON of `n` 'buy' events, one per new user `${prefix}-${i}`, with unique event_ids. */
export function buyEvents(prefix: string, n: number): string {
  const parts: string[] = []
  for (let i = 0; i < n; i++) {
    parts.push(
      `{"user_id":"${prefix}-${i}","event":"buy","time":"2024-0${1 + (i % 9)}-1${i % 10}T10:00:00Z","event_id":"${prefix}-${i}","properties":{"amount":${i % 97}}}`,
    )
  }
  return parts.join('\n') + '\n'
}

/** The rule counting 'buy' events per user. */
export const buyCount = { method: 'metric', event: 'buy', measure: { agg: 'count' } } as const

/** Users and 'buy' events stored, read through a preview (nothing stored): Σ value × users. */
export async function storedCounts(base: string): Promise<{ users: number; events: number }> {
  const r = await api(base, 'editor', '/api/preview', { json: { dataType: 'number', rule: buyCount } })
  if (r.status !== 200) throw new Error(`preview ${r.status} ${r.body}`)
  const d = r.json() as { totalUsers: number; items: Array<{ value: number; users: number }> }
  return { users: d.totalUsers, events: d.items.reduce((s, i) => s + i.value * i.users, 0) }
}
