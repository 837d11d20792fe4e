/**
 * Real `npm start` processes (server/main.ts) on one PostgreSQL schema, for the cluster tests:
 * each with its own data directory (audit log) and port, the test tokens, no demo, no client build.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { tokenEntries } from '../helpers.ts'

export interface NodeProcess {
  name: string
  http: string
  collab: string
  child: ChildProcess
  /** stdout + stderr so far (last 20 000 characters). */
  output(): string
  kill9(): Promise<void>
  stop(): Promise<void>
}

const main = join(import.meta.dirname, '../../../server/main.ts')
export const LABELS_TOKENS = tokenEntries.map((t) => `${t.name}:${t.token}:${t.role}`).join(',')

/** Starts server/main.ts with DATABASE_URL = url; resolves once it prints its address. */
export function startNode(name: string, url: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), `labels-cluster-${name}-`))
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        DATABASE_URL: url,
        PORT: '0',
        HOST: '127.0.0.1',
        LABELS_DATA_DIR: dir,
        LABELS_TOKENS,
        LABELS_DEMO: '0',
        LABELS_SKIP_CLIENT_BUILD: '1',
        LABELS_CLUSTER_LEASE_MS: '3000',
        LOG_LEVEL: 'warn',
        ...env,
      },
    })
    let out = ''
    const append = (d: Buffer) => {
      out = (out + d.toString()).slice(-20_000)
      const m = /Open: (http:\/\/127\.0\.0\.1:(\d+))\//.exec(out)
      if (m && !started) {
        started = true
        child.off('exit', onEarlyExit)
        resolve({
          name,
          http: m[1]!,
          collab: `ws://127.0.0.1:${m[2]}/collab`,
          child,
          output: () => out,
          kill9: async () => {
            if (child.exitCode === null && child.signalCode === null) {
              const gone = new Promise((r) => child.once('exit', r))
              child.kill('SIGKILL')
              await gone
            }
            rmSync(dir, { recursive: true, force: true })
          },
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) {
              const gone = new Promise((r) => child.once('exit', r))
              child.kill('SIGTERM')
              await gone
            }
            rmSync(dir, { recursive: true, force: true })
          },
        })
      }
    }
    let started = false
    const onEarlyExit = (code: number | null) => reject(new Error(`${name} exited (${code}) before listening:\n${out}`))
    child.once('exit', onEarlyExit)
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
  })
}
