/** An API error as the server reports it (SPEC §8): code, message and the offending JSON path. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly path?: string) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface Api {
  readonly token: string
  get<T>(path: string): Promise<T>
  send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>
  /** An address that downloads with the token in the query (exports open in a new tab/download). */
  downloadUrl(path: string): string
}

async function toError(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; path?: string } }
    const e = body.error ?? {}
    return new ApiError(res.status, e.code ?? 'error', e.message ?? res.statusText, e.path)
  } catch {
    return new ApiError(res.status, 'error', res.statusText || `HTTP ${res.status}`)
  }
}

/** A small fetch wrapper bound to one token; failures throw ApiError. */
export function makeApi(token: string, onUnauthorized: () => void = () => {}): Api {
  const headers = { authorization: `Bearer ${token}` }
  async function run<T>(path: string, init: RequestInit): Promise<T> {
    const res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers ?? {}) } })
    if (res.status === 401) onUnauthorized()
    if (!res.ok) throw await toError(res)
    if (res.status === 204) return undefined as T
    return (await res.json()) as T
  }
  return {
    token,
    get: (path) => run(path, { method: 'GET' }),
    send: (method, path, body) =>
      run(path, body === undefined ? { method } : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    downloadUrl: (path) => `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`,
  }
}
