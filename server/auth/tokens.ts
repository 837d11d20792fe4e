import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isRole, roleAllows, type Operator, type Role } from './roles.ts'

export interface TokenEntry extends Operator {
  token: string
}

/** Parses LABELS_TOKENS="name:token:role,…"; throws naming the bad entry. */
export function parseTokens(spec: string): TokenEntry[] {
  const out: TokenEntry[] = []
  for (const raw of spec.split(',')) {
    const part = raw.trim()
    if (!part) continue
    const [name, token, role, ...rest] = part.split(':')
    if (!name || !token || !role || rest.length > 0 || !isRole(role))
      throw new Error(`LABELS_TOKENS entry "${part.replace(/:[^:]*:/, ':***:')}" is not name:token:viewer|editor|admin`)
    if (token.length < 8) throw new Error(`LABELS_TOKENS: the token of "${name}" is shorter than 8 characters`)
    out.push({ name, token, role })
  }
  if (out.length === 0) throw new Error('LABELS_TOKENS is set but holds no token')
  return out
}

const TOKEN_FILE = 'admin-token'

/**
 * Reads the admin token kept in the data directory, creating it (mode 0600) on the first
 * start. `created` tells the caller to print the address with ?token= (as Jupyter does).
 */
export async function ensureAdminToken(dataDir: string): Promise<{ entry: TokenEntry; created: boolean }> {
  await mkdir(dataDir, { recursive: true })
  const file = join(dataDir, TOKEN_FILE)
  try {
    const token = (await readFile(file, 'utf8')).trim()
    if (token) return { entry: { name: 'admin', token, role: 'admin' }, created: false }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const token = randomBytes(24).toString('base64url')
  // 'wx' so two processes starting at once can't both write a token.
  const fh = await open(file, 'wx', 0o600)
  try {
    await fh.writeFile(`${token}\n`)
    await fh.sync()
  } finally {
    await fh.close()
  }
  return { entry: { name: 'admin', token, role: 'admin' }, created: true }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/** An operator as the registry hands it out: `revoked` once its token is withdrawn. */
export interface LiveOperator extends Operator {
  readonly revoked?: boolean
}

/**
 * Looks tokens up in constant time: every stored hash is compared, whatever matches.
 *
 * Tokens can change while the server runs (`replace`, e.g. LABELS_TOKENS_FILE re-read):
 * `authenticate` hands out the registry's own object for a token, and `replace` updates that
 * object in place (a lowered role) or marks it `revoked`, so a holder such as an open
 * WebSocket sees the change at its next check without asking again.
 */
export class TokenRegistry {
  private entries: Array<{ hash: Buffer; operator: { name: string; role: Role; revoked?: boolean } }>
  private readonly listeners = new Set<() => void>()

  constructor(tokens: readonly TokenEntry[]) {
    this.entries = tokens.map((t) => ({ hash: digest(t.token), operator: { name: t.name, role: t.role } }))
  }

  /** The operator holding `token`, or null. */
  authenticate(token: string | undefined): LiveOperator | null {
    if (!token) return null
    const h = digest(token)
    let found: LiveOperator | null = null
    for (const e of this.entries) if (timingSafeEqual(e.hash, h) && !found) found = e.operator
    return found
  }

  /** The strongest role `name` holds now (an operator may hold several tokens), or null when none. */
  roleOf(name: string): Role | null {
    let best: Role | null = null
    for (const e of this.entries)
      if (e.operator.name === name && (best === null || roleAllows(e.operator.role, best))) best = e.operator.role
    return best
  }

  /**
   * Puts `tokens` in force. A token kept keeps its operator object, updated to the new name and
   * role; a token withdrawn has its object marked revoked. Listeners run afterwards.
   */
  replace(tokens: readonly TokenEntry[]): void {
    const old = new Map(this.entries.map((e) => [e.hash.toString('hex'), e.operator]))
    this.entries = tokens.map((t) => {
      const hash = digest(t.token)
      const key = hash.toString('hex')
      const operator = old.get(key) ?? { name: t.name, role: t.role }
      old.delete(key)
      operator.name = t.name
      operator.role = t.role
      return { hash, operator }
    })
    for (const gone of old.values()) gone.revoked = true
    for (const fn of this.listeners) fn()
  }

  /** Calls `fn` after every `replace`; returns the unsubscribe. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }
}
