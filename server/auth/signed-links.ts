import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { isRole, type Operator } from './roles.ts'

/** How long a signed link works. Long enough for a click to start the download, short enough that a logged or shared link is useless. */
export const LINK_TTL_MS = 60_000

/** The query parameter that carries the signature; always the last one of a link. */
export const SIG_PARAM = 'sig'

const SIG_AT_END = new RegExp(`[?&]${SIG_PARAM}=([^&#]*)$`)

/**
 * Short-lived signed links for GET requests (downloads), so the web app never puts its
 * long-lived token in a URL. A link is `TARGET[?|&]sig=EXP.ROLE.NAME.MAC`: EXP in Unix
 * seconds, NAME base64url, MAC = HMAC-SHA256 over method, target (path and query as sent),
 * EXP, name and role. Any change to the path, the query (added, removed or reordered
 * parameters), the method, the operator or the expiry breaks it.
 *
 * The key is random per process and kept in a private field: never stored, logged or
 * serialised; a restart only invalidates links that would have expired within a minute.
 */
export class LinkSigner {
  readonly #key: Buffer

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key
  }

  /** A link to GET `target` (path and query, no signature) for `operator`, valid `LINK_TTL_MS` from `now`. */
  sign(operator: Operator, target: string, now = Date.now()): { url: string; expiresAt: string } {
    const exp = Math.floor((now + LINK_TTL_MS) / 1000)
    const name = Buffer.from(operator.name, 'utf8').toString('base64url')
    const mac = this.mac('GET', target, exp, operator.name, operator.role)
    const url = `${target}${target.includes('?') ? '&' : '?'}${SIG_PARAM}=${exp}.${operator.role}.${name}.${mac}`
    return { url, expiresAt: new Date(exp * 1000).toISOString() }
  }

  /**
   * The operator and role a request `url` (as received: raw path and query) was signed for, or
   * null when it carries no signature, or a wrong, expired or tampered one.
   */
  verify(method: string, url: string, now = Date.now()): Operator | null {
    const m = SIG_AT_END.exec(url)
    if (!m || method !== 'GET') return null
    const [exp, role, name64, mac, ...rest] = (m[1] ?? '').split('.')
    if (rest.length > 0 || !exp || !role || name64 === undefined || !mac || !/^\d{1,12}$/.test(exp) || !isRole(role))
      return null
    const expires = Number(exp) * 1000
    if (expires <= now || expires > now + 2 * LINK_TTL_MS) return null
    const name = Buffer.from(name64, 'base64url').toString('utf8')
    const want = Buffer.from(this.mac('GET', url.slice(0, m.index), Number(exp), name, role), 'base64url')
    const got = Buffer.from(mac, 'base64url')
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null
    return { name, role }
  }

  /** True when `url` carries a signature parameter (valid or not). */
  static carries(url: string): boolean {
    return SIG_AT_END.test(url) || new RegExp(`[?&]${SIG_PARAM}=`).test(url)
  }

  private mac(method: string, target: string, exp: number, name: string, role: string): string {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([method, target, exp, name, role]))
      .digest('base64url')
  }
}
