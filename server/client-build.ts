import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'

/** What the web app's build depends on: its sources (client imports engine and shared), the lock file and the config. */
const INPUT_DIRS = ['client', 'engine', 'shared']
const INPUT_FILES = ['package-lock.json']
const STAMP = '.build-stamp'

async function files(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await files(p)))
    else if (/\.(ts|tsx|mts|mjs|js|css|html|json)$/.test(e.name)) out.push(p)
  }
  return out
}

/** A digest of every input's path and content: equal digests mean an equal build. */
export async function clientSourceDigest(root: string): Promise<string> {
  const h = createHash('sha256')
  const all = [
    ...(await Promise.all(INPUT_DIRS.map((d) => files(join(root, d))))).flat(),
    ...INPUT_FILES.map((f) => join(root, f)).filter((f) => existsSync(f)),
  ]
  for (const f of all.sort())
    h.update(relative(root, f))
      .update('\0')
      .update(await readFile(f))
      .update('\0')
  return h.digest('hex')
}

/**
 * Builds the web app into `outDir` only when its sources changed since the last build (a
 * stamp file holds their digest), with Vite's output kept to errors. Returns what it did.
 * `npm start` calls it before listening, so a first start builds and later starts don't.
 */
export async function ensureClientBuilt(root: string, outDir: string): Promise<'up-to-date' | 'built'> {
  const digest = await clientSourceDigest(root)
  const stampFile = join(outDir, STAMP)
  if (
    existsSync(join(outDir, 'index.html')) &&
    existsSync(stampFile) &&
    (await readFile(stampFile, 'utf8')).trim() === digest
  )
    return 'up-to-date'
  const { build } = await import('vite')
  await build({
    configFile: join(root, 'client', 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true },
  })
  await writeFile(stampFile, digest + '\n')
  return 'built'
}
