import { ApiError, makeApi } from '../api/http.ts'
import type { Me } from '../api/types.ts'

const key = 'labels.me'

/**
 * GET /api/me, remembering the answer for this token, so the app can start without the
 * network. Only a network failure falls back to the remembered answer; a refusal (401) or any
 * other answer of the server is thrown as before.
 */
export async function loadMe(token: string): Promise<Me> {
  let answer: unknown
  try {
    answer = await makeApi(token).get<unknown>('/api/me')
  } catch (e) {
    if (e instanceof ApiError) throw e
    const kept = rememberedMe(token)
    if (kept) return kept
    throw new Error(
      `the server can't be reached (${(e as Error).message}) and this browser has not signed in with this token before`,
    )
  }
  const me = asMe(answer)
  // Something between the page and the server (a proxy, a captive portal) can answer 200 with
  // anything: the screen would then fail on the first name it shows. Said here, at sign-in.
  if (!me)
    throw new Error(`the answer of GET /api/me is not a signed-in operator: ${JSON.stringify(answer)?.slice(0, 120)}`)
  localStorage.setItem(key, JSON.stringify({ token, me }))
  return me
}

/**
 * `value` as GET /api/me's answer, or null when it is not one: `{name, role}` with a known role
 * (docs/api.md#routes); this server adds the workspace's time zone `tz`, UTC (the server's
 * default) when absent.
 */
export function asMe(value: unknown): Me | null {
  if (typeof value !== 'object' || value === null) return null
  const v = value as Record<string, unknown>
  if (typeof v['name'] !== 'string' || (v['tz'] !== undefined && typeof v['tz'] !== 'string')) return null
  if (v['role'] !== 'viewer' && v['role'] !== 'editor' && v['role'] !== 'admin') return null
  return { name: v['name'], role: v['role'], tz: (v['tz'] as string | undefined) ?? 'UTC' }
}

/** The last `me` seen for this token, if any. */
export function rememberedMe(token: string): Me | null {
  try {
    // An entry of another build or edited by hand is not used: the server's answer is waited for.
    const r = JSON.parse(localStorage.getItem(key) ?? 'null') as { token?: string; me?: unknown } | null
    return r && r.token === token ? asMe(r.me) : null
  } catch {
    return null
  }
}
