import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createGroup, projectWorkspace } from '../../shared/doc/index.ts'
import { newClient, synced, until, type TestClient } from '../server/collab/helpers.ts'
import { tokens } from '../server/helpers.ts'
import { api, buyEvents, poll, startApp, storedCounts, type AppProcess } from './harness.ts'

/**
 * The data directory full, or turned read-only, while edits and ingestion run: the whole app
 * in a child process with its data directory on a small tmpfs of its own. Full: a filler file
 * takes the space left. Read-only: `mount -o remount,ro`. Either way writes are refused cleanly
 * (REST 503 within a bounded time, ingestion a JSON error, no crash), the edits are kept in
 * memory and stored once the disk works again, and nothing is lost across a kill -9 afterwards.
 *
 * This needs mount(2): root in CI. chmod is no substitute — it doesn't stop root, and it doesn't
 * stop writes through the files PGlite already holds open either. Without it the cases are
 * skipped, saying so.
 */
function canMount(): string | null {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not root (mount -t tmpfs needs it)'
  const probe = mkdtempSync(join(tmpdir(), 'labels-mount-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'pipe' })
    execFileSync('umount', [probe], { stdio: 'pipe' })
    return null
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}
const noMount = canMount()
if (noMount) console.warn(`[disk] SKIPPED: the full-disk and read-only cases need to mount a tmpfs: ${noMount}`)

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString()

describe.skipIf(noMount !== null)('the data directory full while edits and ingestion run', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'labels-disk-full-'))
  const dir = join(mnt, 'data')
  let app: AppProcess | null = null
  const clients: TestClient[] = []
  const log: string[] = []

  afterAll(async () => {
    clients.splice(0).forEach((c) => c.destroy())
    await app?.kill9()
    try {
      sh('umount', '-l', mnt)
    } catch {
      /* not mounted */
    }
    rmSync(mnt, { recursive: true, force: true })
    console.log(`[disk full] ${log.join('; ')}`)
  })

  it('refuses cleanly while the disk is full, keeps the edits, and stores them once it has room', async () => {
    sh('mount', '-t', 'tmpfs', '-o', 'size=400m', 'tmpfs', mnt)
    mkdirSync(dir)
    app = await startApp(dir)
    const a = newClient(app.collab, tokens.editor),
      b = newClient(app.collab, tokens.editor)
    clients.push(a, b)
    await Promise.all([synced(a), synced(b)])
    expect(
      (await api(app.http, 'admin', '/api/data/events', { body: buyEvents('ok', 2000), type: 'application/x-ndjson' }))
        .status,
    ).toBe(200)
    expect((await api(app.http, 'editor', '/api/groups', { json: { name: 'before' } })).status).toBe(201)

    try {
      sh('dd', 'if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1M')
    } catch {
      /* ENOSPC: the disk is full */
    }
    log.push(`filled: ${sh('df', '-k', mnt).split('\n')[1]?.split(/\s+/)[3]} KiB left`)
    // A REST write: stored (PostgreSQL writes into WAL segments it already allocated) or 503
    // saying the edit is kept (server/workspace: STORE_WAIT_MS), never a hang or a 500.
    const t0 = Date.now()
    const w = await api(app.http, 'editor', '/api/groups', { json: { name: 'during-rest' } })
    log.push(
      `REST write while full: ${w.status} after ${Date.now() - t0} ms${w.status === 503 ? ` (${w.json().error.message})` : ''}`,
    )
    expect([201, 503]).toContain(w.status)
    if (w.status === 503) expect(w.json().error.message).toMatch(/kept in memory/)
    // A Yjs edit meanwhile.
    createGroup(a.doc, { name: 'during-yjs' }, { kind: 'local', actor: 'alice' })
    // Ingestion needs new pages: 503 saying the storage failed, nothing stored, the server lives.
    const ing = await api(app.http, 'admin', '/api/data/events', {
      body: buyEvents('during', 20_000),
      type: 'application/x-ndjson',
    })
    log.push(`ingestion while full: ${ing.status} ${ing.body.slice(0, 200)}`)
    expect(ing.status, ing.body).toBe(503)
    expect(ing.json().error).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/storage failed.*No space left on device/),
    })
    expect((await api(app.http, 'viewer', '/api/health')).status).toBe(200)
    // The edits are in memory meanwhile.
    expect(JSON.stringify((await api(app.http, 'viewer', '/api/groups')).json())).toContain('during-rest')

    rmSync(join(mnt, 'filler'), { force: true })
    // Stored once possible: the Yjs edit reaches the other client (broadcast only once stored),
    // and a new REST write is acknowledged (after every earlier update is stored).
    await until(
      () => projectWorkspace(b.doc).groups.some((g) => g.name === 'during-yjs'),
      120_000,
      'the Yjs edit stored and delivered',
    )
    await poll(
      async () => (await api(app!.http, 'editor', '/api/groups', { json: { name: 'after' } })).status === 201,
      120_000,
      'a REST write acknowledged after repair',
    )
    const again = await api(app.http, 'admin', '/api/data/events', {
      body: buyEvents('during', 20_000),
      type: 'application/x-ndjson',
    })
    expect(again.status, again.body).toBe(200)
    clients.splice(0).forEach((c) => c.destroy())

    // Nothing lost: kill -9 and start again on what is on disk.
    await app.kill9()
    app = await startApp(dir)
    const tree = JSON.stringify((await api(app.http, 'viewer', '/api/groups')).json())
    for (const n of ['before', 'during-rest', 'during-yjs', 'after']) expect(tree, n).toContain(`"${n}"`)
    expect(await storedCounts(app.http)).toEqual({ users: 22_000, events: 22_000 })
    log.push(
      'after freeing space and a kill -9: every edit there; the refused ingestion stored once re-sent, and nothing of it before',
    )
  })
})

/**
 * Read-only: a mount can't be turned read-only under a running PGlite (remount,ro answers EBUSY
 * while files are open for writing, and an open descriptor keeps writing through a chmod). What
 * can happen is a restart onto a data directory that became read-only: the start must fail
 * loudly or serve reads and refuse writes, and change nothing on disk. (It failed with PGlite's
 * "Error writing file /pglite/data/postgresql.conf ErrnoError { errno: 69 }" and "[object Object]";
 * server/data-dir.ts now says which directory is not writable and why.)
 */
describe.skipIf(noMount !== null)('a start on a read-only data directory', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'labels-disk-ro-'))
  const dir = join(mnt, 'data')
  let app: AppProcess | null = null
  const log: string[] = []
  afterAll(async () => {
    await app?.kill9()
    try {
      sh('umount', '-l', mnt)
    } catch {
      /* not mounted */
    }
    rmSync(mnt, { recursive: true, force: true })
    console.log(`[disk read-only] ${log.join('; ')}`)
  })

  it('fails loudly or refuses writes, and everything is there once it is writable again', async () => {
    sh('mount', '-t', 'tmpfs', '-o', 'size=400m', 'tmpfs', mnt)
    mkdirSync(dir)
    app = await startApp(dir)
    expect(
      (await api(app.http, 'admin', '/api/data/events', { body: buyEvents('ok', 2000), type: 'application/x-ndjson' }))
        .status,
    ).toBe(200)
    expect((await api(app.http, 'editor', '/api/groups', { json: { name: 'before' } })).status).toBe(201)
    await app.kill9()
    app = null
    sh('mount', '-o', 'remount,ro', mnt)
    const listing = sh('sh', '-c', `cd ${dir} && find . -type f -exec md5sum {} + | sort`)
    const t0 = Date.now()
    try {
      app = await startApp(dir)
      // It started: reads work, writes are refused (503), never a hang.
      expect((await api(app.http, 'viewer', '/api/health')).status).toBe(200)
      const w = await api(app.http, 'editor', '/api/groups', { json: { name: 'while-ro' } })
      log.push(`started on a read-only directory; a REST write answered ${w.status}`)
      expect(w.status).toBe(503)
      await app.kill9()
      app = null
    } catch (e) {
      const msg = (e as Error).message
      log.push(
        `the start failed after ${Date.now() - t0} ms: ${msg.split('\n').find((l) => l.startsWith('Error: the data directory')) ?? msg.slice(0, 300)}`,
      )
      expect(msg).toMatch(/Error: the data directory \S+ is not writable \(EROFS: read-only file system\)/)
    }
    expect(sh('sh', '-c', `cd ${dir} && find . -type f -exec md5sum {} + | sort`)).toBe(listing)
    sh('mount', '-o', 'remount,rw', mnt)
    app = await startApp(dir)
    expect(JSON.stringify((await api(app.http, 'viewer', '/api/groups')).json())).toContain('"before"')
    expect(await storedCounts(app.http)).toEqual({ users: 2000, events: 2000 })
    log.push('writable again: everything there')
  })
})
