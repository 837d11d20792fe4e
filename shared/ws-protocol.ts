/**
 * The WebSocket subprotocols of both live endpoints. A browser can't set `Authorization` on a
 * WebSocket, so the web app sends its token as a second offered subprotocol instead of in the
 * URL, where proxies and servers log it:
 *
 *   Sec-WebSocket-Protocol: labels.v1, labels.token.<base64url(token)>
 *
 * The server always answers `labels.v1` (the handshake must name one of the offered
 * protocols) and never the token one, so the token is not echoed back either.
 */
export const WS_PROTOCOL = 'labels.v1'

const TOKEN_PREFIX = 'labels.token.'

/** base64url is made of RFC 7230 token characters, so any token fits in a subprotocol. */
export function tokenProtocol(token: string): string {
  return TOKEN_PREFIX + base64url(token)
}

/** The token offered in a `Sec-WebSocket-Protocol` header, or undefined when there is none. */
export function tokenFromProtocols(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined
  for (const p of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const v = p.trim()
    if (v.startsWith(TOKEN_PREFIX)) return fromBase64url(v.slice(TOKEN_PREFIX.length))
  }
  return undefined
}

/**
 * ws `handleProtocols`: picks `labels.v1` when offered, else none (false). A client that
 * offered only its token gets no protocol back, and `ws`/browsers then fail the handshake,
 * which is right: it speaks no protocol this server knows, and the token is never echoed.
 */
export function selectProtocol(offered: Set<string>): string | false {
  return offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false
}

// Isomorphic (the web app imports this file): no Buffer.
function base64url(s: string): string {
  let bin = ''
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b)
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'))
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}
