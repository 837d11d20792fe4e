import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AuditLog, type AuditEntry } from '../../server/audit/audit-log.ts'
import auditPlugin from '../../server/plugins/audit.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-audit-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const seqOf = (e: AuditEntry) => (e.details as { seq: number }).seq
const entry = (seq: number, pad = '') => ({ actor: 'ada', role: 'admin', action: 'test.append', details: { seq, pad } })
const linesIn = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean)
/** Newest first and consecutive: nothing missing in between, nothing twice. */
const expectConsecutive = (seqs: number[]) => {
  for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! - 1)
}

describe('audit log rotation', () => {
  it('deletes files numbered above a lowered keep at the next rotation, and keeps the rest', async () => {
    const file = join(dir, 'audit.jsonl')
    const before = new AuditLog(file, { maxBytes: 400, keep: 5 })
    for (let i = 0; i < 80; i++) await before.append(entry(i))
    expect((await readdir(dir)).sort()).toEqual([
      'audit.1.jsonl',
      'audit.2.jsonl',
      'audit.3.jsonl',
      'audit.4.jsonl',
      'audit.5.jsonl',
      'audit.jsonl',
    ])
    await before.close()
    await writeFile(join(dir, 'audit.notes.jsonl'), 'not ours\n') // a name that is not a rotation number stays
    const after = new AuditLog(file, { maxBytes: 400, keep: 2 })
    for (let i = 80; i < 90; i++) await after.append(entry(i))
    expect((await readdir(dir)).sort()).toEqual(['audit.1.jsonl', 'audit.2.jsonl', 'audit.jsonl', 'audit.notes.jsonl'])
    const seqs = (await after.list({ limit: 1000 })).map(seqOf)
    expect(seqs[0]).toBe(89)
    expectConsecutive(seqs)
    await after.close()
  })

  it('rotates by size into audit.1.jsonl … audit.<keep>.jsonl and drops only the oldest file', async () => {
    const file = join(dir, 'audit.jsonl')
    const log = new AuditLog(file, { maxBytes: 400, keep: 3 })
    for (let i = 0; i < 60; i++) await log.append(entry(i))
    expect((await readdir(dir)).sort()).toEqual(['audit.1.jsonl', 'audit.2.jsonl', 'audit.3.jsonl', 'audit.jsonl'])
    const perFile: number[][] = []
    for (const n of [3, 2, 1, 0]) {
      const path = log.rotatedPath(n)
      expect((await stat(path)).size).toBeLessThanOrEqual(400)
      perFile.push((await linesIn(path)).map((l) => seqOf(JSON.parse(l) as AuditEntry)))
    }
    // Oldest file first, each file's entries in order, and the files join without a gap.
    const onDisk = perFile.flat()
    expect(onDisk.at(-1)).toBe(59)
    expectConsecutive([...onDisk].reverse())
    expect(onDisk.length).toBeLessThan(60) // older files were dropped...
    const all = await log.list({ limit: 1000 })
    expect(all.map(seqOf)).toEqual([...onDisk].reverse()) // ...and the reader sees exactly what is kept
    expect((await log.list({ limit: 5 })).map(seqOf)).toEqual([59, 58, 57, 56, 55])
    await log.close()
  })

  it('loses and repeats nothing when entries arrive all at once and while the log is being read', async () => {
    const log = new AuditLog(join(dir, 'audit.jsonl'), { maxBytes: 300, keep: 1000 })
    const N = 250
    let done = false
    const allAppended = (async () => {
      const appends: Array<Promise<void>> = []
      for (let i = 0; i < N; i++) {
        appends.push(log.append(entry(i)))
        if (i % 10 === 9) await appends[i - 5] // keep appends queued while reads and rotations run
      }
      await Promise.all(appends)
    })().finally(() => {
      done = true
    })
    const reads: number[][] = []
    while (!done) reads.push((await log.list({ limit: 1000 })).map(seqOf)) // reads race the rotations
    await allAppended
    expect(reads.length).toBeGreaterThan(2)
    for (const seqs of reads) {
      if (seqs.length === 0) continue
      expectConsecutive(seqs) // a read during rotations sees a gap-free, duplicate-free run
      expect(seqs.at(-1)).toBe(0)
    }
    const all = (await log.list({ limit: 1000 })).map(seqOf)
    expect(all).toEqual(Array.from({ length: N }, (_, i) => N - 1 - i))
    expect((await readdir(dir)).length).toBeGreaterThan(50) // it did rotate, many times
    await log.close()
  })

  it('gives an entry larger than the limit a file of its own', async () => {
    const log = new AuditLog(join(dir, 'audit.jsonl'), { maxBytes: 200, keep: 5 })
    await log.append(entry(0))
    await log.append(entry(1, 'x'.repeat(500)))
    await log.append(entry(2))
    expect((await linesIn(log.rotatedPath(1))).map((l) => seqOf(JSON.parse(l) as AuditEntry))).toEqual([1])
    expect((await log.list()).map(seqOf)).toEqual([2, 1, 0])
    await log.close()
  })

  it('after a restart, counts the existing file towards the limit and ends a torn last line', async () => {
    const file = join(dir, 'audit.jsonl')
    const first = new AuditLog(file, { maxBytes: 10_000, keep: 2 })
    for (let i = 0; i < 3; i++) await first.append(entry(i))
    await first.close()
    await writeFile(file, `${await readFile(file, 'utf8')}{"at":"2026-01-01T00:00:00.000Z","act`) // crash mid-write

    const small = new AuditLog(file, { maxBytes: 600, keep: 2 })
    await small.append(entry(3))
    expect((await small.list()).map(seqOf)).toEqual([3, 2, 1, 0])
    for (let i = 4; i < 12; i++) await small.append(entry(i))
    expect(existsSync(small.rotatedPath(1))).toBe(true)
    const seqs = (await small.list({ limit: 1000 })).map(seqOf)
    expect(seqs[0]).toBe(11)
    expectConsecutive(seqs)
    await small.close()
  })

  it('an entry appended after close() is written, and leaves no file open', async () => {
    const file = join(dir, 'audit.jsonl')
    // Descriptors of this process open on the live file (Linux: /proc/self/fd).
    const openOnFile = async () => {
      let n = 0
      for (const fd of await readdir('/proc/self/fd').catch(() => [] as string[]))
        if ((await readlink(join('/proc/self/fd', fd)).catch(() => '')) === file) n++
      return n
    }
    const log = new AuditLog(file, { maxBytes: 10_000, keep: 2 })
    await log.append(entry(0))
    expect(await openOnFile()).toBe(existsSync('/proc/self/fd') ? 1 : 0)
    await log.close()
    // A request or an edit ending during shutdown.
    await log.append(entry(1))
    expect(await openOnFile()).toBe(0)
    expect((await linesIn(file)).map((l) => seqOf(JSON.parse(l) as AuditEntry))).toEqual([0, 1])
  })

  it('refuses nonsense limits with a clear error', () => {
    expect(() => new AuditLog(join(dir, 'a.jsonl'), { maxBytes: 0 })).toThrow(/maxBytes=0/)
    expect(() => new AuditLog(join(dir, 'a.jsonl'), { keep: 0 })).toThrow(/keep=0/)
  })

  it('the audit plugin records requests across rotated files', async () => {
    const app = Fastify({ logger: false })
    await app.register(auditPlugin, { file: join(dir, 'audit', 'audit.jsonl'), maxBytes: 256, keep: 50 })
    app.post('/thing/:id', { config: { audit: 'thing.touch' } }, async () => ({ ok: true }))
    await app.ready()
    for (let i = 0; i < 30; i++)
      expect((await app.inject({ method: 'POST', url: `/thing/t${i}` })).statusCode).toBe(200)
    const entries = await app.audit.list({ action: 'thing', limit: 1000 })
    expect(entries.map((e) => e.target)).toEqual(Array.from({ length: 30 }, (_, i) => `t${29 - i}`))
    expect(entries.every((e) => e.status === 200)).toBe(true)
    expect(existsSync(join(dir, 'audit', 'audit.3.jsonl'))).toBe(true)
    await app.close()
  })
})

describe('audit log under a flood', () => {
  it('refuses appends past maxPending at once (503) instead of queueing without bound, keeping room for auth entries, and writes the accepted ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'labels-audit-flood-'))
    const log = new AuditLog(join(dir, 'audit.jsonl'), { maxPending: 10 })
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        log.append({ actor: 'a', role: 'admin', action: 'label.update', target: `t${i}` }),
      ),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10)
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    expect(refused).toHaveLength(20)
    expect((refused[0]!.reason as { status: number }).status).toBe(503)
    expect(log.dropped).toBe(20)
    // Noise fills the normal room; security entries still fit.
    const noise = Array.from({ length: 10 }, (_, i) =>
      log.append({ actor: 'a', role: 'admin', action: 'label.update', target: `n${i}` }),
    )
    const security = Array.from({ length: 10 }, (_, i) =>
      log.append({ actor: null, role: null, action: 'auth.failed', target: `s${i}` }),
    )
    expect((await Promise.allSettled([...noise, ...security])).every((r) => r.status === 'fulfilled')).toBe(true)
    const all = await log.list({ limit: 1000 })
    expect(all).toHaveLength(30)
    expect(all.filter((e) => e.action === 'auth.failed')).toHaveLength(10)
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })
})
