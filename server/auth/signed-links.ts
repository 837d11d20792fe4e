import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { isRole, type Operator } from './roles.ts'

/**
 * How long a signed link works. Long enough for a click to start the download, short enough that a logged or shared
 * link is useless.
 */
export const LINK_TTL_MS = 60_000

/** The query parameter that carries the signature; always the last one of a link. */
export const SIG_PARAM = 'sig'

const SIG_AT_END = new RegExp(`[?&]${SIG_PARAM}=([^&#]*)$`)

/**
 * Short-lived signed links for GET requests (downloads), so the web app never puts its
 * long-lived token in a URL. A link is `TARGET[?|&]sig=EXP.ROLE.NAME.NONCE.MAC`: EXP in Unix
 * seconds, NAME base64url, NONCE random, MAC = HMAC-SHA256 over method, target (path and query
 * as sent), EXP, name, role and nonce. Any change to the path, the query (added, removed or
 * reordered parameters), the method, the operator or the expiry breaks it.
 *
 * A link is single-use (`redeem`): a link that leaked (a proxy or browser history, a shared
 * screen) is worth nothing once its download started. The web app asks for a new link at each
 * click, so nobody notices. A request the server failed (5xx) or throttled (429) gives the link
 * back (`release`), so it can be retried within its minute; any other answer (2xx, 4xx) uses it.
 * Used links are remembered until they expire, so memory holds at most two minutes of links.
 *
 * The key is random per process and kept in a private field: never stored, logged or
 * serialised; a restart only invalidates links that would have expired within a minute.
 */
export class LinkSigner {
  readonly #key: Buffer
  /** Links in use or used (their MAC), with their expiry (ms): refused until then. */
  readonly #used = new Map<string, number>()

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key
  }

  /** A link to GET `target` (path and query, no signature) for `operator`, valid `LINK_TTL_MS` from `now`. */
  sign(operator: Operator, target: string, now = Date.now()): { url: string; expiresAt: string } {
    const exp = Math.floor((now + LINK_TTL_MS) / 1000)
    const name = Buffer.from(operator.name, 'utf8').toString('base64url')
    const nonce = randomBytes(9).toString('base64url')
    const mac = this.mac('GET', target, exp, operator.name, operator.role, nonce)
    const sig = `${exp}.${operator.role}.${name}.${nonce}.${mac}`
    const url = `${target}${target.includes('?') ? '&' : '?'}${SIG_PARAM}=${sig}`
    return { url, expiresAt: new Date(exp * 1000).toISOString() }
  }

  /**
   * The operator and role a request `url` (as received: raw path and query) was signed for, or
   * null when it carries no signature, or a wrong, expired or tampered one.
   */
  verify(method: string, url: string, now = Date.now()): Operator | null {
    const link = this.check(method, url, now)
    return link && { name: link.name, role: link.role }
  }

  /**
   * verify, and takes the link for this request: `used` when it was already taken (a second
   * GET of the same link), else the operator and `release`, which gives the link back (call it
   * when the request failed on the server's side, so the link can be retried).
   */
  redeem(method: string, url: string, now = Date.now()): (Operator & { release(): void }) | 'used' | null {
    const link = this.check(method, url, now)
    if (!link) return null
    for (const [mac, expires] of this.#used) if (expires <= now) this.#used.delete(mac)
    if (this.#used.has(link.mac)) return 'used'
    this.#used.set(link.mac, link.expires)
    return { name: link.name, role: link.role, release: () => this.#used.delete(link.mac) }
  }

  private check(method: string, url: string, now: number): (Operator & { mac: string; expires: number }) | null {
    const m = SIG_AT_END.exec(url)
    if (!m || method !== 'GET') return null
    const [exp, role, name64, nonce, mac, ...rest] = (m[1] ?? '').split('.')
    if (
      rest.length > 0 ||
      !exp ||
      !role ||
      name64 === undefined ||
      !nonce ||
      !mac ||
      !/^\d{1,12}$/.test(exp) ||
      !isRole(role)
    )
      return null
    const expires = Number(exp) * 1000
    if (expires <= now || expires > now + 2 * LINK_TTL_MS) return null
    const name = Buffer.from(name64, 'base64url').toString('utf8')
    const want = Buffer.from(this.mac('GET', url.slice(0, m.index), Number(exp), name, role, nonce), 'base64url')
    const got = Buffer.from(mac, 'base64url')
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null
    return { name, role, mac, expires }
  }

  /** True when `url` carries a signature parameter (valid or not). */
  static carries(url: string): boolean {
    return SIG_AT_END.test(url) || new RegExp(`[?&]${SIG_PARAM}=`).test(url)
  }

  private mac(method: string, target: string, exp: number, name: string, role: string, nonce: string): string {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([method, target, exp, name, role, nonce]))
      .digest('base64url')
  }
}
