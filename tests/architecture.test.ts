import { readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sourceFiles } from './helpers/source-files.ts'

// The layering of STYLE.md: shared ← engine ← server and shared ← engine ← client.
const root = resolve(import.meta.dirname, '..')
const allowed: Record<string, string[]> = {
  shared: ['shared'],
  engine: ['shared', 'engine'],
  server: ['shared', 'engine', 'server'],
  client: ['shared', 'engine', 'client'],
}

/** The TypeScript sources under `dir` (absolute). */
const sources = (dir: string): string[] => sourceFiles(dir, (name) => /\.(ts|tsx)$/.test(name))

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const re =
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"]([^'"]+)['"]/g
  return [...text.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

describe('layering', () => {
  for (const layer of Object.keys(allowed)) {
    it(`${layer}/ imports only from ${allowed[layer]!.join(', ')}`, () => {
      const bad: string[] = []
      let dir: string
      try {
        dir = join(root, layer)
        statSync(dir)
      } catch {
        return
      }
      for (const file of sources(dir)) {
        for (const spec of imports(file)) {
          if (layer === 'shared' && spec.startsWith('node:')) bad.push(`${relative(root, file)} → ${spec}`)
          if (!spec.startsWith('.')) continue
          const target = relative(root, resolve(dirname(file), spec)).split(/[\\/]/)[0] ?? ''
          if (!allowed[layer]!.includes(target)) bad.push(`${relative(root, file)} → ${spec}`)
        }
      }
      expect(bad).toEqual([])
    })
  }
})

/** Relative imports of a file, resolved, each marked whether it is type-only (erased at run time). */
function edges(file: string): Array<{ target: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8')
  const re = /(?:import|export)\s+(type\s+)?[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  return [...text.matchAll(re)].map((m) => ({
    target: resolve(dirname(file), m[2] ?? m[3] ?? ''),
    typeOnly: Boolean(m[1]),
  }))
}

/** The import cycles (strongly connected components of more than one module) among `files`. */
function cycles(files: string[], withTypes: boolean): string[][] {
  const known = new Set(files)
  const graph = new Map(
    files.map((f) => [
      f,
      edges(f)
        .filter((e) => (withTypes || !e.typeOnly) && known.has(e.target))
        .map((e) => e.target),
    ]),
  )
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const scc: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      scc.push(relative(root, w))
    } while (w !== v)
    if (scc.length > 1) out.push(scc.sort())
  }
  for (const f of files) if (!index.has(f)) visit(f)
  return out
}

const layerSources = (...layers: string[]) => layers.flatMap((l) => sources(join(root, l)))

describe('import cycles', () => {
  it('no module imports itself back through others (value imports, every layer)', () => {
    expect(cycles(layerSources('shared', 'engine', 'server', 'client'), false)).toEqual([])
  })

  it('none either in engine/ingest and shared/, type imports included (the parse worker once looped ingestor ↔ parse-pool)', () => {
    expect(cycles(layerSources('shared', 'engine/ingest'), true)).toEqual([])
  })
})

describe('one module for each shared rule (issue 12, item 15)', () => {
  const text = (rel: string) => readFileSync(join(root, rel), 'utf8')
  const others = (keep: string, ...layers: string[]) =>
    layerSources(...layers).filter((f) => relative(root, f) !== keep)

  it('the rule limits are numbers only in shared/limits.ts: the rule schema and the compiler read them from there', () => {
    expect(text('shared/schemas/rule.ts')).not.toMatch(/\b(?:maxItems|maximum|maxLength)\s*:\s*\d/)
    const copies = others('shared/limits.ts', 'shared', 'engine', 'server').filter((f) =>
      /\blayers\s*:\s*\d/.test(readFileSync(f, 'utf8')),
    )
    expect(copies.map((f) => relative(root, f))).toEqual([])
  })

  it('the operator lists are written only in shared/operators.ts', () => {
    const list = /['"]not_in['"][^\n]*['"]is_not_set['"]|\bnot_in\s*:[^\n]*\bis_not_set\s*:/
    const multiline = /\bnot_in\s*:\s*\[/ // the types-per-operator table
    const copies = others('shared/operators.ts', 'shared', 'engine', 'server').filter((f) => {
      const t = readFileSync(f, 'utf8')
      return list.test(t) || multiline.test(t)
    })
    expect(copies.map((f) => relative(root, f))).toEqual([])
  })

  it('the number and ISO-date patterns are written only in shared/formats.ts', () => {
    const patterns = [
      /\\d\+\\\\?\.\\\?\\d\*\|\\\\?\.\\d\+/,
      /\(\\d\{4\}\)-\(\\d\{2\}\)-\(\\d\{2\}\)\(\?:\[T /,
      /\\d\{1,[0-9]\}\)?\)?\)?\(?Z/,
    ]
    const copies = others('shared/formats.ts', 'shared', 'engine', 'server', 'client').filter((f) => {
      const t = readFileSync(f, 'utf8')
      return patterns.some((p) => p.test(t))
    })
    expect(copies.map((f) => relative(root, f))).toEqual([])
  })

  it('errors cross every worker boundary with the one transfer handler of shared/worker-errors.ts', () => {
    for (const f of [
      'server/engine-host.ts',
      'server/engine-worker.ts',
      'engine/ingest/parse-pool.ts',
      'engine/ingest/parse-worker.ts',
      'client/preview/engine-worker.ts',
      'client/preview/make-preview-engine.ts',
    ]) {
      expect(text(f), f).toMatch(/registerErrorTransport\(\)/)
    }
    const schemes = others('shared/worker-errors.ts', 'shared', 'engine', 'server', 'client').filter((f) =>
      /transferHandlers|function (?:plainError|toWire|fromWire)\b/.test(readFileSync(f, 'utf8')),
    )
    expect(schemes.map((f) => relative(root, f))).toEqual([])
  })
})

describe('public Yjs API only (issue 12, item 11)', () => {
  it('no Yjs internals (`_item`, `_transaction`, `_map`, `_start`, `_length`, `_eH`, `_dEH`, `_first`) in shared, engine, server or client', () => {
    // Underscored members of Yjs types, transactions and documents: a yjs upgrade may change them
    // without notice, and change detection built on them would break silently.
    const internal = /\.(?:_item|_transaction|_map|_start|_length|_eH|_dEH|_first|_prelimContent|_integrate)\b/
    const uses: string[] = []
    for (const f of layerSources('shared', 'engine', 'server', 'client'))
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // comments that name what is avoided are fine
          if (internal.test(line.replace(/\/\/.*$|\/\*.*?\*\/|^\s*\*.*$/g, '')))
            uses.push(`${relative(root, f)}:${i + 1}`)
        })
    expect(uses).toEqual([])
  })
})
