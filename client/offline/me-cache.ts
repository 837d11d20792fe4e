import { ApiError, makeApi } from '../api/http.ts'
import type { Me } from '../api/types.ts'

const key = 'labels.me'

/**
 * GET /api/me, remembering the answer for this token, so the app can start without the
 * network. Only a network failure falls back to the remembered answer; a refusal (401) or any
 * other answer of the server is thrown as before.
 */
export async function loadMe(token: string): Promise<Me> {
  try {
    const me = await makeApi(token).get<Me>('/api/me')
    localStorage.setItem(key, JSON.stringify({ token, me }))
    return me
  } catch (e) {
    if (e instanceof ApiError) throw e
    const kept = rememberedMe(token)
    if (kept) return kept
    throw new Error(
      `the server can't be reached (${(e as Error).message}) and this browser has not signed in with this token before`,
    )
  }
}

/** The last `me` seen for this token, if any. */
export function rememberedMe(token: string): Me | null {
  try {
    const r = JSON.parse(localStorage.getItem(key) ?? 'null') as { token?: string; me?: Me } | null
    return r && r.token === token && r.me ? r.me : null
  } catch {
    return null
  }
}
