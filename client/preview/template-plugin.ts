import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { readFile, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Plugin } from 'vite'

/** What the template depends on: PGlite's version, the engine's sources, the script. */
function templateKey(repo: string): string {
  const h = createHash('sha256')
  h.update(readFileSync(join(repo, 'node_modules/@electric-sql/pglite/package.json')))
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.name.endsWith('.ts')) h.update(p.slice(repo.length)).update(readFileSync(p))
    }
  }
  walk(join(repo, 'engine'))
  h.update(readFileSync(join(repo, 'scripts/preview-template.ts')))
  return h.digest('hex').slice(0, 16)
}

/** The template's tarball, made once per key by scripts/preview-template.ts (kept in the temp dir). */
async function makeTemplate(repo: string, key: string): Promise<Buffer> {
  const cached = join(tmpdir(), `labels-preview-template-${key}.tgz`)
  try {
    return await readFile(cached)
  } catch {
    // not made yet
  }
  const part = `${cached}.${process.pid}.${Date.now()}`
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', join(repo, 'scripts/preview-template.ts'), part],
        { cwd: repo },
        (err, _out, stderr) => (err ? reject(new Error(`preview template: ${err.message} ${stderr}`)) : resolve()),
      ),
    )
    await rename(part, cached) // whole or not at all, also when two builds make it at once
  } finally {
    await rm(part, { force: true })
  }
  return readFile(cached)
}

/**
 * Vite plugin (build only): ships the in-browser preview's template database (PGlite after
 * initdb and the engine's migrations, scripts/preview-template.ts) as
 * `assets/preview-template-<key>.tgz`, and defines `__LABELS_PREVIEW_TEMPLATE__` as its address
 * for the preview worker, which starts new databases from it instead of running initdb in the
 * browser. Before the service-worker plugin, which then precaches it.
 */
export function previewTemplatePlugin(repo: string): Plugin {
  const key = templateKey(repo)
  const fileName = `assets/preview-template-${key}.tgz`
  let made: Promise<Buffer> | null = null
  return {
    name: 'labels-preview-template',
    apply: 'build',
    config: () => ({ define: { __LABELS_PREVIEW_TEMPLATE__: JSON.stringify(`/${fileName}`) } }),
    buildStart() {
      made ??= makeTemplate(repo, key)
      made.catch(() => {}) // reported in generateBundle
    },
    async generateBundle() {
      if (!made) throw new Error('preview template: buildStart did not run')
      this.emitFile({ type: 'asset', fileName, source: await made })
    },
  }
}
