import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isRole, type Operator } from './roles.ts'

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

/** Looks tokens up in constant time: every stored hash is compared, whatever matches. */
export class TokenRegistry {
  private readonly entries: Array<{ hash: Buffer; operator: Operator }>

  constructor(tokens: readonly TokenEntry[]) {
    this.entries = tokens.map((t) => ({ hash: digest(t.token), operator: { name: t.name, role: t.role } }))
  }

  /** The operator holding `token`, or null. */
  authenticate(token: string | undefined): Operator | null {
    if (!token) return null
    const h = digest(token)
    let found: Operator | null = null
    for (const e of this.entries) if (timingSafeEqual(e.hash, h) && !found) found = e.operator
    return found
  }
}
