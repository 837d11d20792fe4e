import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, relative } from 'node:path'
import { expect, it } from 'vitest'
import { sourceFiles } from './helpers/source-files.ts'

/**
 * The install contract (issue 12, "Install and dependencies"): what the product imports is declared,
 * in `dependencies` when `npm ci --omit=dev && npm start` needs it, and nothing declared goes unused;
 * the lock file's copy of package.json's fields agrees with it, so `npm install` doesn't rewrite it.
 */
const root = new URL('../', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: Record<string, string>
  scripts: Record<string, string>
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  optionalDependencies?: Record<string, string>
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, Record<string, unknown>>
}

/** Source files under `dir` (TypeScript, TSX and ES modules, not declarations), relative to the repository. */
const sources = (dir: string): string[] =>
  sourceFiles(dir, (name) => /\.(ts|tsx|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts'), root)

const builtins = new Set(builtinModules)
/** The package an import specifier names (`@scope/name/sub` → `@scope/name`), or null for a relative or built-in one. */
function packageOf(spec: string): string | null {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || spec.startsWith('virtual:'))
    return null
  const parts = spec.split('/')
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
  return builtins.has(name) ? null : name
}

/** Packages a file imports at run time and in type positions only, from its import/export statements and dynamic imports. */
function importsOf(file: string): { runtime: Set<string>; typeOnly: Set<string> } {
  const text = readFileSync(join(root, file), 'utf8')
  const runtime = new Set<string>()
  const typeOnly = new Set<string>()
  const statement = /(?:^|[\n;])\s*(import|export)\s+(type\s+)?(?:[^'"`;]*?\s+from\s+)?['"]([^'"]+)['"]/g
  for (const m of text.matchAll(statement)) {
    const name = packageOf(m[3]!)
    if (name) (m[2] ? typeOnly : runtime).add(name)
  }
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const name = packageOf(m[1]!)
    if (name) runtime.add(name)
  }
  for (const m of text.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const name = packageOf(m[1]!)
    if (name) runtime.add(name)
  }
  for (const r of runtime) typeOnly.delete(r)
  return { runtime, typeOnly }
}

function importsUnder(dirs: string[]) {
  const runtime = new Map<string, string>() // package → first file importing it
  const typeOnly = new Map<string, string>()
  for (const dir of dirs)
    for (const file of sources(dir)) {
      const i = importsOf(file)
      for (const p of i.runtime) if (!runtime.has(p)) runtime.set(p, file)
      for (const p of i.typeOnly) if (!typeOnly.has(p)) typeOnly.set(p, file)
    }
  return { runtime, typeOnly }
}

/** What `npm start` runs and builds: the server, the engine, the shared code and the web app (built at start). */
const productDirs = ['server', 'engine', 'shared', 'client', 'scripts']
/** Used by package.json scripts or tools rather than imported: each with why it is declared. */
const usedWithoutImport: Record<string, string> = {
  tsx: 'npm start runs `tsx server/main.ts`',
  '@biomejs/biome': 'npm run lint',
  typescript: 'npm run typecheck (tsc)',
  vitest: 'npm test',
  '@types/node': 'types for tsc',
  '@types/d3': 'types of d3 for tsc',
  '@types/pg': 'types of pg for tsc',
  '@types/pg-copy-streams': 'types of pg-copy-streams for tsc',
  '@types/ws': 'types of ws for tsc',
  '@types/autocannon': 'types of autocannon for tsc',
  'axe-core': 'tests/client/a11y.e2e.test.ts injects node_modules/axe-core/axe.min.js into the page',
}

it('the product imports only declared packages, and at run time only `dependencies` (npm ci --omit=dev && npm start)', () => {
  const { runtime, typeOnly } = importsUnder(productDirs)
  const missing = [...runtime].filter(([p]) => !(p in pkg.dependencies)).map(([p, f]) => `${p} (${f})`)
  expect(missing, 'imported at run time but not in "dependencies"').toEqual([])
  const undeclared = [...typeOnly]
    .filter(([p]) => !(p in pkg.dependencies) && !(p in pkg.devDependencies))
    .map(([p, f]) => `${p} (${f})`)
  expect(undeclared, 'type imports of packages not declared at all').toEqual([])
})

it('tests, benchmarks and tools import only declared packages', () => {
  const { runtime, typeOnly } = importsUnder(['tests', 'bench'])
  const declared = { ...pkg.dependencies, ...pkg.devDependencies }
  const undeclared = [...runtime, ...typeOnly].filter(([p]) => !(p in declared)).map(([p, f]) => `${p} (${f})`)
  expect(undeclared).toEqual([])
})

it('every declared package is used: imported somewhere, or run by a script or tool (with the reason)', () => {
  const all = importsUnder([...productDirs, 'tests', 'bench'])
  const used = new Set([...all.runtime.keys(), ...all.typeOnly.keys()])
  // biome.json, vitest.config.ts and the root scripts
  for (const file of ['vitest.config.ts']) for (const p of importsOf(file).runtime) used.add(p)
  const unused = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter(
    (p) => !used.has(p) && !(p in usedWithoutImport),
  )
  expect(unused, 'declared but never imported (remove them, or say in usedWithoutImport why they are needed)').toEqual(
    [],
  )
  // An entry of the reasons list must stay true: the package is declared and really not imported.
  for (const p of Object.keys(usedWithoutImport))
    expect(p in pkg.dependencies || p in pkg.devDependencies, p).toBe(true)
  expect(pkg.scripts.start).toMatch(/^tsx /)
  expect('tsx' in pkg.dependencies, 'npm start runs tsx, so a production install needs it').toBe(true)
  expect('vite' in pkg.dependencies, 'npm start builds the web app with vite').toBe(true)
})

it('the lock file agrees with package.json, so `npm install` leaves it as it is', () => {
  const head = lock.packages['']!
  expect(head.engines).toEqual(pkg.engines)
  expect(head.dependencies).toEqual(pkg.dependencies)
  expect(head.devDependencies).toEqual(pkg.devDependencies)
  expect(head.optionalDependencies).toEqual(pkg.optionalDependencies)
  // Every declared package has its entry in the lock (npm ci fails on a missing one).
  for (const p of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)])
    expect(lock.packages[`node_modules/${p}`], `${p} in package-lock.json`).toBeDefined()
  // Nothing the lock resolves is an optional package left out of it (what broke npm ci with vite 8.4).
  const lockedNames = new Set(Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, '')))
  const missingOptional: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    for (const dep of Object.keys((entry.optionalDependencies as Record<string, string> | undefined) ?? {}))
      if (!lockedNames.has(dep)) missingOptional.push(`${dep} (optional of ${relative('', path) || 'the root'})`)
  }
  expect(missingOptional).toEqual([])
})

it('reads import specifiers as the tests above need', () => {
  expect(packageOf('@electric-sql/pglite/worker')).toBe('@electric-sql/pglite')
  expect(packageOf('d3')).toBe('d3')
  expect(packageOf('y-protocols/sync')).toBe('y-protocols')
  expect(packageOf('node:fs')).toBeNull()
  expect(packageOf('fs/promises')).toBeNull()
  expect(packageOf('./x.ts')).toBeNull()
})

/**
 * Whether `version` (x.y.z) satisfies an `engines.node` range as packages write them: `||`
 * alternatives of space-separated comparators (`>=`, `>`, `<=`, `<`, `^`, `~`, `=` or a bare
 * version), whose missing or `x`/`*` parts match anything (`18`, `10.*`, `10.x`).
 */
function admits(range: string, version: string): boolean {
  const v = version.split('.').map(Number)
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0) ? -1 : 1
    return 0
  }
  const one = (c: string): boolean => {
    const m = /^(>=|<=|>|<|\^|~|=)?\s*v?([\dx*]+(?:\.[\dx*]+)*)$/.exec(c.trim())
    if (!m) throw new Error(`unreadable engines range part: ${c}`)
    const parts = (m[2] as string).split('.')
    const fixed = parts.findIndex((p) => p === 'x' || p === '*')
    const given = (fixed < 0 ? parts : parts.slice(0, fixed)).map(Number)
    const low = [given[0] ?? 0, given[1] ?? 0, given[2] ?? 0]
    switch (m[1]) {
      case '>=':
        return cmp(v, low) >= 0
      case '>':
        return cmp(v, low) > 0
      case '<=':
        return cmp(v, low) <= 0
      case '<':
        return cmp(v, low) < 0
      case '^':
        return cmp(v, low) >= 0 && v[0] === low[0]
      case '~':
        return cmp(v, low) >= 0 && v[0] === low[0] && (given.length < 2 || v[1] === low[1])
      default: // a bare or `=` version: equal in the parts given
        return given.every((n, i) => v[i] === n)
    }
  }
  return range
    .split('||')
    .map((alt) => alt.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').trim())
    .some((alt) => alt === '' || alt.split(/\s+/).every((c) => c === '*' || one(c)))
}

it('reads engines ranges as packages write them', () => {
  expect(admits('>=22', '20.19.0')).toBe(false)
  expect(admits('>=22', '22.0.0')).toBe(true)
  expect(admits('>= 16.0.0', '20.19.0')).toBe(true)
  expect(admits('^20.19.0 || >=22.12.0', '20.19.0')).toBe(true)
  expect(admits('^20.19.0 || >=22.12.0', '22.11.0')).toBe(false)
  expect(admits('^20.19.0 || >=22.12.0', '20.18.9')).toBe(false)
  expect(admits('18 || 20 || >=22', '20.19.0')).toBe(true)
  expect(admits('18 || 20 || >=22', '21.0.0')).toBe(false)
  expect(admits('10.* || >= 12.*', '20.19.0')).toBe(true)
  expect(admits('>=16 || 14 >=14.17', '14.16.0')).toBe(false)
  expect(admits('>=16 || 14 >=14.17', '14.17.0')).toBe(true)
  expect(admits('>= 10.x', '9.0.0')).toBe(false)
  expect(() => admits('latest', '20.19.0')).toThrow(/unreadable/)
})

it('every package the lock installs runs on the Node versions package.json admits (no EBADENGINE on install)', () => {
  // The stated minimum (`>=20.19` → 20.19.0).
  const range = pkg.engines.node ?? ''
  const given = (/\d+(?:\.\d+){0,2}/.exec(range) as RegExpExecArray)[0].split('.')
  const minimum = [0, 1, 2].map((i) => given[i] ?? '0').join('.')
  expect(admits(range, minimum)).toBe(true)
  const refused: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    const node = (entry.engines as Record<string, string> | undefined)?.node
    if (path === '' || !node || entry.optional) continue // optional packages are skipped where they don't fit
    if (!admits(node, minimum)) refused.push(`${path.replace(/^.*node_modules\//, '')} (node ${node})`)
  }
  expect(refused, `packages that refuse Node ${minimum}: pin an older release under "overrides"`).toEqual([])
})
