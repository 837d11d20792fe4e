import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OPENAPI_FILE, openApiText } from '../scripts/openapi.ts'
import { incrementalLimits } from '../shared/limits.ts'

/**
 * The product's contract lives in docs/: the code cites its pages by anchor
 * (`docs/rules.md#windows`), and docs/openapi.json is generated from the route schemas.
 */
const root = resolve(import.meta.dirname, '..')
const docsDir = join(root, 'docs')

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function headingAnchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const text = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link counts by its text
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .trim()
      .replace(/\s/g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

function files(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? (name === 'node_modules' ? [] : files(p, ext)) : ext.test(name) ? [p] : []
  })
}

const anchorsOf = new Map<string, Set<string> | null>()
function anchors(page: string): Set<string> | null {
  if (!anchorsOf.has(page)) {
    const file = join(docsDir, page)
    anchorsOf.set(page, existsSync(file) ? headingAnchors(readFileSync(file, 'utf8')) : null)
  }
  return anchorsOf.get(page)!
}

/** Each citation that names a missing page or a heading the page lacks, as `file:line → target`. */
function brokenCitations(sources: string[], pattern: RegExp): string[] {
  const bad: string[] = []
  for (const file of sources) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        for (const m of line.matchAll(pattern)) {
          const page = m[1]!
          const anchor = m[2]
          const known = anchors(page)
          if (!known || (anchor !== undefined && !known.has(anchor)))
            bad.push(`${relative(root, file)}:${i + 1} → docs/${page}${anchor ? `#${anchor}` : ''}`)
        }
      })
  }
  return bad
}

describe('docs/', () => {
  it('derives anchors as GitHub does', () => {
    const a = headingAnchors(
      '# Rules\n## `lastDays` windows\n## Errors & statuses\n```\n# not a heading\n```\n## Windows\n## Windows\n### GET /api/labels/:label\n',
    )
    expect([...a]).toEqual([
      'rules',
      'lastdays-windows',
      'errors--statuses',
      'windows',
      'windows-1',
      'get-apilabelslabel',
    ])
  })

  it('has every page and heading the code cites (docs/<page>.md#<anchor>)', () => {
    const sources = ['server', 'engine', 'shared', 'client', 'bench', 'scripts', 'tests'].flatMap((d) =>
      files(join(root, d), /\.(ts|tsx|mjs|js)$/),
    )
    // This file's own examples aside.
    const own = join(root, 'tests', 'docs.test.ts')
    expect(
      brokenCitations(
        sources.filter((f) => f !== own),
        /docs\/([\w-]+\.md)(?:#([\p{L}\p{N}_-]+))?/gu,
      ),
    ).toEqual([])
  })

  it('is what the code cites for the contract: no citation of the spec outside the repository (SPEC §N)', () => {
    const sources = ['server', 'engine', 'shared', 'client'].flatMap((d) => files(join(root, d), /\.(ts|tsx|mjs|js)$/))
    const stale = sources.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/SPEC §/.test(line) ? [`${relative(root, f)}:${i + 1}`] : [])),
    )
    expect(stale, 'cite docs/<page>.md#<heading> instead').toEqual([])
  })

  it('has every page and heading that the docs pages and the README link to', () => {
    const pages = files(docsDir, /\.md$/)
    expect(pages.map((p) => relative(docsDir, p)).sort()).toEqual(
      expect.arrayContaining(['api.md', 'rules.md', 'semantics.md']),
    )
    // Links between pages: (rules.md#windows), (#windows) within a page.
    const bad: string[] = []
    for (const file of pages) {
      const page = relative(docsDir, file)
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(/\]\((?:\.\/)?([\w-]+\.md)?(?:#([\p{L}\p{N}_-]+))?\)/gu)) {
            if (m[1] === undefined && m[2] === undefined) continue
            const target = m[1] ?? page
            const known = anchors(target)
            if (!known || (m[2] !== undefined && !known.has(m[2])))
              bad.push(`docs/${page}:${i + 1} → ${target}#${m[2] ?? ''}`)
          }
        })
    }
    expect(bad).toEqual([])
    expect(
      brokenCitations(
        [join(root, 'README.md'), join(root, 'ARCHITECTURE.md')].filter(existsSync),
        /\(docs\/([\w-]+\.md)(?:#([\p{L}\p{N}_-]+))?\)/gu,
      ),
    ).toEqual([])
  })

  it('lists every operation of docs/openapi.json in docs/api.md (as `METHOD /path` with :params)', () => {
    const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, unknown>> }
    const api = readFileSync(join(docsDir, 'api.md'), 'utf8')
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
    )
    expect(operations.length).toBeGreaterThan(20)
    expect(operations.filter((op) => !api.includes(`\`${op}\``))).toEqual([])
  })

  it('holds the OpenAPI document the server builds from its schemas (else run npm run openapi)', async () => {
    const fresh = await openApiText()
    const committed = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, 'utf8') : ''
    // Compare parsed first, so a failure names what differs rather than printing 600 kB.
    if (committed !== fresh) {
      const a = JSON.parse(committed || '{}') as { paths?: Record<string, unknown> }
      const b = JSON.parse(fresh) as { paths?: Record<string, unknown> }
      const paths = new Set([...Object.keys(a.paths ?? {}), ...Object.keys(b.paths ?? {})])
      const differing = [...paths].filter((p) => JSON.stringify(a.paths?.[p]) !== JSON.stringify(b.paths?.[p]))
      expect.fail(
        `docs/openapi.json is stale (run npm run openapi); paths that differ: ${differing.join(', ') || '(components or info)'}`,
      )
    }
  })
})

describe('the incremental runs limits in prose', () => {
  // The wire schema and the label detail quote shared/limits.ts; these pages say the same values
  // in words, so changing a limit without them fails here.
  const days = incrementalLimits.changesKeptDays
  const percent = Math.round(incrementalLimits.maxShare * 100)
  const text = (file: string) => readFileSync(join(root, file), 'utf8').replace(/\s+/g, ' ')
  it.each([
    [
      'docs/api.md',
      [`older than the ${days} days of changes the engine keeps`, `more than ${percent}% of the customers changed`],
    ],
    ['README.md', [`calculated in the last ${days} days`, `more than ${percent}% of customers to compute`]],
    ['ARCHITECTURE.md', [`Above ${percent}% of the users it computes everyone`]],
  ])('%s says the values of shared/limits.ts', (file, phrases) => {
    for (const p of phrases) expect(text(file).includes(p), `${file} should say: ${p}`).toBe(true)
  })
})
