import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { LOCK_FILE, lockDataDir } from '../../../server/data-dir.ts'
import { startNode } from './processes.ts'

const dirs: string[] = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'labels-lock-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A pid that existed and is gone now. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((r) => c.once('exit', r))
  return c.pid!
}

describe('PGlite is single-process: the data directory lock', () => {
  it('refuses while the process named in the lock lives, takes over a dead one, releases its own', async () => {
    const dir = tempDir()
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' })
    try {
      writeFileSync(join(dir, LOCK_FILE), `${sleeper.pid}\n`)
      expect(() => lockDataDir(dir)).toThrow(`another Labels process (pid ${sleeper.pid}) is using the data directory`)
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${sleeper.pid}\n`) // left alone
    } finally {
      sleeper.kill('SIGKILL')
    }
    writeFileSync(join(dir, LOCK_FILE), `${await deadPid()}\n`)
    const release = lockDataDir(dir)
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`)
    release()
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false)
    // A damaged lock file is stale too.
    writeFileSync(join(dir, LOCK_FILE), 'garbage')
    lockDataDir(dir)()
  })

  it('a second npm start on the same PGlite data directory exits saying so', async () => {
    const dir = tempDir()
    const env = { DATABASE_URL: '', LABELS_DATA_DIR: dir }
    const first = await startNode('first', '', env)
    try {
      expect(first.output()).toContain('PGlite serves one process')
      const second = await startNode('second', '', env).then(
        () => 'started',
        (e: Error) => e.message,
      )
      expect(second).toContain(`another Labels process (pid ${first.child.pid}) is using the data directory ${dir}`)
      expect(second).toContain('DATABASE_URL')
    } finally {
      await first.stop()
    }
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false) // released on a clean stop
  }, 300_000) // a safety bound: a PGlite start takes tens of seconds on this loaded 2-core machine
})
