import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { describe, expect, it } from 'vitest'

// The layering of STYLE.md: shared ← engine ← server and shared ← engine ← client.
const root = resolve(import.meta.dirname, '..')
const allowed: Record<string, string[]> = {
  shared: ['shared'],
  engine: ['shared', 'engine'],
  server: ['shared', 'engine', 'server'],
  client: ['shared', 'engine', 'client'],
}

function sources(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...sources(p))
    else if (/\.(ts|tsx)$/.test(name)) out.push(p)
  }
  return out
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const re = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|new URL\(\s*['"]([^'"]+)['"]/g
  return [...text.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3] ?? '')
}

describe('layering', () => {
  for (const layer of Object.keys(allowed)) {
    it(`${layer}/ imports only from ${allowed[layer]!.join(', ')}`, () => {
      const bad: string[] = []
      let dir: string
      try { dir = join(root, layer); statSync(dir) } catch { return }
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
