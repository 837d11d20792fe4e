import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Files under `dir` whose names `pick` accepts, recursively, as `join(dir, …)` paths (read from
 * `join(root, path)`); node_modules, build output (dist) and dot folders are left out. For the
 * tests that read the product's own sources (architecture.test.ts, dependencies.test.ts).
 */
export function sourceFiles(dir: string, pick: (name: string) => boolean, root = ''): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path, pick, root))
    else if (pick(name)) out.push(path)
  }
  return out
}
