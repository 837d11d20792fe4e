import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

const root = new URL('../', import.meta.url).pathname

/** `npm run bench -- ARGS` without npm: the runner's exit status and what it printed. */
function bench(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

// A bench's flags without its name ran the whole default set (engine, server, collab, explain: tens
// of minutes on the machine) instead of the bench meant. The runner refuses before loading any bench.
describe('the bench runner (bench/run.ts)', () => {
  it('refuses a bench name given as a flag, and names the command meant', () => {
    const r = bench(['--refresh'])
    expect(r.status).toBe(2)
    expect(r.out).toContain('npm run bench -- refresh')
    expect(r.out).not.toContain('=== bench')
  })

  it('refuses `npm run bench --refresh`, which npm takes as its own flag (npm_config_refresh)', () => {
    const r = bench([], { npm_config_refresh: 'true' })
    expect(r.status).toBe(2)
    expect(r.out).toContain('npm run bench -- refresh')
  })

  it('refuses flags without a bench name, and an unknown name', () => {
    const flags = bench(['--size', 'small'])
    expect(flags.status).toBe(2)
    expect(flags.out).toContain('flags need a bench name first')
    const unknown = bench(['refrsh'])
    expect(unknown.status).toBe(2)
    expect(unknown.out).toContain('unknown bench "refrsh"')
  })
})
