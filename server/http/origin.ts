/**
 * Whether a WebSocket upgrade may come from the page that opened it. Browsers send `Origin`
 * on every WebSocket handshake and never let a page forge it; programs usually send none.
 * Without this check, any site an operator visits could open a socket to the server with a
 * token it got hold of, or with ambient credentials a proxy adds.
 *
 * Allowed: no Origin (not a browser); an Origin whose host:port is the request's Host (the
 * web app served by this server, whatever the scheme a TLS proxy shows); an origin in
 * `allowed` (LABELS_ALLOWED_ORIGINS, exact `scheme://host[:port]`, or `*` for any). `Origin:
 * null` (sandboxed frames, file: pages) is refused unless `*` is listed.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true
  if (allowed.includes('*')) return true
  const o = parseOrigin(origin)
  if (o === null) return false
  if (host !== undefined && o.host === normalHost(host, o.protocol)) return true
  return allowed.includes(o.origin)
}

/** Normalises one LABELS_ALLOWED_ORIGINS entry to `scheme://host[:port]`; throws on anything else. */
export function normalOrigin(entry: string): string {
  if (entry === '*') return entry
  const o = parseOrigin(entry)
  if (o === null)
    throw new Error(
      `LABELS_ALLOWED_ORIGINS: "${entry}" is not an origin like https://labels.example.com or http://host:8787`,
    )
  return o.origin
}

function parseOrigin(s: string): URL | null {
  let u: URL
  try {
    u = new URL(s)
  } catch {
    return null
  }
  if (
    (u.protocol !== 'http:' && u.protocol !== 'https:') ||
    u.username ||
    u.password ||
    (u.pathname !== '/' && u.pathname !== '') ||
    u.search ||
    u.hash
  )
    return null
  if (s.replace(/\/$/, '').toLowerCase() !== u.origin.toLowerCase()) return null // no path, no trailing junk
  return u
}

/** The Host header as URL.host would spell it for that scheme (lower case, default port dropped). */
function normalHost(host: string, protocol: string): string | undefined {
  try {
    return new URL(`${protocol}//${host}`).host
  } catch {
    return undefined
  }
}
