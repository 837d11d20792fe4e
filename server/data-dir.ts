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
