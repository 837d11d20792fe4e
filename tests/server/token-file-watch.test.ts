import { mkdir, mkdtemp, open, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { TokenFile } from '../../server/auth/token-file.ts'
import { TokenRegistry } from '../../server/auth/tokens.ts'
import { until } from './helpers.ts'

/**
 * LABELS_TOKENS_FILE watched on a real file system: whatever way the file is written (a burst
 * of writes, a truncate then a write, replaced by rename, deleted and created again), the
 * tokens in force end as the file's last content. A change seen while a re-read runs must not
 * be lost: an admin who lowers a role must not find the old one still in force.
 */
const TOKEN = 'vic-token-0001'
const entry = (role: string) => `vic:${TOKEN}:${role}\nann:ann-token-0001:admin\n`

let dir = ''
let file = ''
let registry: TokenRegistry
let stop: () => void = () => {}
const logged: string[] = []
const roleNow = () => registry.authenticate(TOKEN)?.role ?? null

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-tokens-'))
  file = join(dir, 'tokens')
  await writeFile(file, entry('viewer'))
  registry = new TokenRegistry([])
  const tf = new TokenFile(file, registry)
  await tf.reload()
  logged.length = 0
  stop = tf.watch({ info: (m) => logged.push(m), error: (m) => logged.push(m) })
})

afterEach(async () => {
  stop()
  await rm(dir, { recursive: true, force: true })
})

/**
 * As Kubernetes mounts a secret: `..data` links to a folder holding `tokens` with role `first`;
 * the returned swap points `..data` at a second folder (role `then`) by rename.
 */
async function mountedSecret(first: string, then: string): Promise<() => Promise<void>> {
  const v1 = join(dir, 'v1')
  const v2 = join(dir, 'v2')
  await mkdir(v1)
  await mkdir(v2)
  await writeFile(join(v1, 'tokens'), entry(first))
  await writeFile(join(v2, 'tokens'), entry(then))
  await symlink(v1, join(dir, '..data'))
  return async () => {
    await symlink(v2, join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
  }
}

describe('LABELS_TOKENS_FILE watched', () => {
  it('a burst of writes ends with the last one in force', async () => {
    for (let i = 0; i < 30; i++) await writeFile(file, entry(i % 2 ? 'editor' : 'admin'))
    await writeFile(file, entry('viewer'))
    await writeFile(file, entry('editor'))
    await until(async () => roleNow() === 'editor' && logged.length > 0)
    // Quiet for a while afterwards: nothing read late puts an older content back.
    await new Promise((r) => setTimeout(r, 600))
    expect(roleNow()).toBe('editor')
  })

  it('a truncate, then the new content a moment later: the new content is in force', async () => {
    const fh = await open(file, 'w') // truncates: an empty file does not parse, tokens stay
    await new Promise((r) => setTimeout(r, 50))
    expect(roleNow()).toBe('viewer')
    await fh.writeFile(entry('admin'))
    await fh.close()
    await until(async () => roleNow() === 'admin')
  })

  it('replaced by rename (as editors save), then written again: both changes are read', async () => {
    const tmp = join(dir, 'tokens.new')
    await writeFile(tmp, entry('admin'))
    await rename(tmp, file)
    await until(async () => roleNow() === 'admin')
    await writeFile(file, entry('editor'))
    await until(async () => roleNow() === 'editor')
  })

  it('deleted, then created again: the tokens stay in force meanwhile, and the new file is read', async () => {
    await unlink(file)
    await new Promise((r) => setTimeout(r, 300))
    expect(roleNow()).toBe('viewer')
    await writeFile(file, entry('admin'))
    await until(async () => roleNow() === 'admin', 10_000)
  })

  it('a path through a symbolic link whose target is swapped (a mounted secret) is re-read', async () => {
    // As Kubernetes mounts a secret: tokens -> ..data/tokens, and ..data -> a dated folder, swapped by rename.
    stop()
    const swap = await mountedSecret('viewer', 'admin')
    const linked = join(dir, 'linked')
    await symlink(join('..data', 'tokens'), linked)
    const tf = new TokenFile(linked, registry)
    await tf.reload()
    stop = tf.watch({ info: (m) => logged.push(m), error: (m) => logged.push(m) })
    await swap()
    await until(async () => roleNow() === 'admin')
  })

  it('a file later replaced by a symbolic link is followed through its target swaps', async () => {
    const swap = await mountedSecret('editor', 'admin')
    // The watch began on a regular file; now the path becomes a link into ..data.
    await symlink(join('..data', 'tokens'), join(dir, 'tokens.link'))
    await rename(join(dir, 'tokens.link'), file)
    await until(async () => roleNow() === 'editor')
    // Only ..data changes now: the event names ..data, not the watched file.
    await swap()
    await until(async () => roleNow() === 'admin')
  })

  it('a directory that is missing at start is said, then watched once it exists; what was written meanwhile is read', async () => {
    stop()
    const sub = join(dir, 'later')
    const tf = new TokenFile(join(sub, 'tokens'), registry)
    stop = tf.watch({ info: (m) => logged.push(m), error: (m) => logged.push(m) })
    expect(logged.filter((m) => m.includes('not watched'))).toHaveLength(1)
    await mkdir(sub)
    await writeFile(join(sub, 'tokens'), entry('admin'))
    await until(async () => roleNow() === 'admin', 10_000)
    expect(logged.some((m) => m.includes('watched again'))).toBe(true)
    // Failing once is said once, not at every retry.
    expect(logged.filter((m) => m.includes('not watched'))).toHaveLength(1)
  })

  it('stop() ends the watch: a later change is not read', async () => {
    stop()
    await writeFile(file, entry('admin'))
    await new Promise((r) => setTimeout(r, 1500))
    expect(roleNow()).toBe('viewer')
  })
})
