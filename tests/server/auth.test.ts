import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AuditLog } from '../../server/audit/audit-log.ts'
import { roleAllows } from '../../server/auth/roles.ts'
import { ensureAdminToken, parseTokens, TokenRegistry } from '../../server/auth/tokens.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-auth-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('tokens', () => {
  it('parses LABELS_TOKENS name:token:role lists', () => {
    expect(parseTokens('ana:tok-aaaaaaaa:admin, bo:tok-bbbbbbbb:viewer')).toEqual([
      { name: 'ana', token: 'tok-aaaaaaaa', role: 'admin' },
      { name: 'bo', token: 'tok-bbbbbbbb', role: 'viewer' },
    ])
  })

  it('refuses malformed entries, unknown roles and short tokens without echoing the token', () => {
    expect(() => parseTokens('ana:secret-token-1:owner')).toThrow(/name:token:viewer\|editor\|admin/)
    expect(() => parseTokens('ana:secret-token-1:owner')).not.toThrow(/secret-token-1/)
    expect(() => parseTokens('ana:short:admin')).toThrow(/shorter than 8/)
    expect(() => parseTokens(' , ')).toThrow(/no token/)
  })

  it('creates the admin token once, mode 0600, and reads it back on later starts', async () => {
    const first = await ensureAdminToken(dir)
    expect(first.created).toBe(true)
    expect(first.entry.role).toBe('admin')
    expect((await stat(join(dir, 'admin-token'))).mode & 0o777).toBe(0o600)
    const again = await ensureAdminToken(dir)
    expect(again).toEqual({ entry: first.entry, created: false })
    expect((await readFile(join(dir, 'admin-token'), 'utf8')).trim()).toBe(first.entry.token)
  })

  it('authenticates only exact tokens', () => {
    const reg = new TokenRegistry([{ name: 'ana', token: 'tok-aaaaaaaa', role: 'editor' }])
    expect(reg.authenticate('tok-aaaaaaaa')).toEqual({ name: 'ana', role: 'editor' })
    for (const bad of ['tok-aaaaaaa', 'tok-aaaaaaaab', 'TOK-AAAAAAAA', '', undefined])
      expect(reg.authenticate(bad)).toBeNull()
  })

  it('orders roles viewer < editor < admin', () => {
    expect(roleAllows('admin', 'editor')).toBe(true)
    expect(roleAllows('editor', 'editor')).toBe(true)
    expect(roleAllows('viewer', 'editor')).toBe(false)
    expect(roleAllows('editor', 'admin')).toBe(false)
  })
})

describe('audit log', () => {
  it('appends entries durably and lists the newest first with filters', async () => {
    const log = new AuditLog(join(dir, 'audit', 'audit.jsonl'))
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        log.append({
          actor: i % 2 ? 'ana' : 'bo',
          role: 'editor',
          action: i % 3 ? 'label.update' : 'group.create',
          target: `t${i}`,
        }),
      ),
    )
    const all = await log.list({ limit: 1000 })
    expect(all).toHaveLength(20)
    expect(all[0]?.target).toBe('t19') // appends are serialised in call order
    const groups = await log.list({ action: 'group' })
    expect(groups).toHaveLength(7) // i % 3 === 0 for i < 20
    expect(groups.every((e) => e.action === 'group.create')).toBe(true)
    expect((await log.list({ actor: 'ana', limit: 3 })).map((e) => e.actor)).toEqual(['ana', 'ana', 'ana'])
    await log.close()
    const lines = (await readFile(join(dir, 'audit', 'audit.jsonl'), 'utf8')).trim().split('\n')
    expect(lines).toHaveLength(20)
  })

  it('skips a torn last line instead of failing', async () => {
    const file = join(dir, 'torn.jsonl')
    const log = new AuditLog(file)
    await log.append({ actor: 'a', role: 'admin', action: 'x' })
    await log.close()
    const { appendFile } = await import('node:fs/promises')
    await appendFile(file, '{"at":"2026-')
    expect(await new AuditLog(file).list()).toHaveLength(1)
  })
})
