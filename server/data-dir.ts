import { readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Creates the data directory and proves it writable before any database opens it: on a
 * read-only or full disk PGlite's own failure is "Error writing file /pglite/data/postgresql.conf
 * ErrnoError { errno: 69 }" followed by "[object Object]".
 */
export async function ensureWritableDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-probe-${process.pid}`)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(probe, 'ok')
    await rm(probe, { force: true })
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    throw new Error(
      `the data directory ${dir} is not writable (${err.code ?? err.message}${err.code === 'EROFS' ? ': read-only file system' : ''}); Labels needs to write there`,
    )
  }
}

/** The lock file of a PGlite data directory (server/main.ts). */
export const LOCK_FILE = 'labels.pid'

/** True while a process with this pid exists (EPERM: it exists but belongs to someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * PGlite is single-process: one `npm start` per data directory. Writes `labels.pid` (this pid)
 * with O_EXCL; when it exists, refuses to start if that process is alive, and takes the lock over
 * when it is gone (a crash or kill -9 leaves the file behind). Returns the release function (also
 * run at exit). Several processes on one database need PostgreSQL (DATABASE_URL).
 */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, LOCK_FILE)
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' })
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e
    }
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue // removed meanwhile: try again
    }
    const pid = Number.parseInt(text, 10)
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
      throw new Error(
        `another Labels process (pid ${pid}) is using the data directory ${dir}. ` +
          'With PGlite (no DATABASE_URL) one process serves a data directory: stop that process first, ' +
          'or run several processes on one PostgreSQL database (DATABASE_URL).',
      )
    // Stale (its process is gone, or the file is damaged): take it over, unless another starter just did.
    try {
      if (readFileSync(file, 'utf8') === text) unlinkSync(file)
    } catch {
      // gone already
    }
  }
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.off('exit', release)
    try {
      if (Number.parseInt(readFileSync(file, 'utf8'), 10) === process.pid) unlinkSync(file)
    } catch {
      // already gone
    }
  }
  process.on('exit', release)
  return release
}
