/** An API error as the server reports it (docs/api.md#errors): code, message, the offending JSON path and any details (e.g. row errors). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly path?: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** How far an upload is: bytes sent of the request body's total. */
export interface UploadProgress {
  loaded: number
  total: number
}

export interface Api {
  readonly token: string
  get<T>(path: string): Promise<T>
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>
  /** POSTs a raw body (a file) with its content type, e.g. NDJSON or CSV to /api/data/users. */
  post<T>(path: string, body: Blob | string, contentType: string): Promise<T>
  /** POSTs `file` as the `file` part of a multipart body, reporting upload progress (fetch can't). */
  upload<T>(path: string, file: Blob, onProgress?: (p: UploadProgress) => void): Promise<T>
  /**
   * A short-lived signed address for GET `path` (POST /api/links): it works for about a minute
   * without the token, so the long-lived token never appears in a URL, a log or the history.
   */
  signedUrl(path: string): Promise<string>
  /** Downloads GET `path` (an export) through a fresh signed link. */
  download(path: string): Promise<void>
}

type ErrorBody = { error?: { code?: string; message?: string; path?: string; details?: unknown } }

function errorFrom(status: number, statusText: string, body: unknown): ApiError {
  const e = (body as ErrorBody | null)?.error
  if (!e) return new ApiError(status, 'error', statusText || `HTTP ${status}`)
  return new ApiError(status, e.code ?? 'error', e.message ?? statusText, e.path, e.details)
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    // not JSON: the status line is all there is
  }
  return errorFrom(res.status, res.statusText, body)
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return null
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
  function upload<T>(path: string, file: Blob, onProgress?: (p: UploadProgress) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest()
      xhr.open('POST', path)
      xhr.setRequestHeader('authorization', headers.authorization)
      if (onProgress)
        xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size })
      xhr.onload = () => {
        if (xhr.status === 401) onUnauthorized()
        const body = parseJson(xhr.responseText)
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as T)
        else reject(errorFrom(xhr.status, xhr.statusText, body))
      }
      // The server closes the connection on a body over its limit, sometimes before it can answer.
      xhr.onerror = () =>
        reject(
          new ApiError(
            0,
            'network',
            'the upload failed: the connection was closed (is the file too large, or the server down?)',
          ),
        )
      xhr.onabort = () => reject(new ApiError(0, 'aborted', 'the upload was cancelled'))
      const form = new FormData()
      form.append('file', file, file instanceof File ? file.name : 'upload.csv')
      xhr.send(form)
    })
  }
  async function signedUrl(path: string): Promise<string> {
    // Asked for each click: a link is good for a minute, a page stays open for hours.
    const { url } = await run<{ url: string }>('/api/links', {
      method: 'POST',
      body: JSON.stringify({ path }),
      headers: { 'content-type': 'application/json' },
    })
    return url
  }
  return {
    token,
    get: (path) => run(path, { method: 'GET' }),
    send: (method, path, body) =>
      run(
        path,
        body === undefined
          ? { method }
          : { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
      ),
    post: (path, body, contentType) => run(path, { method: 'POST', body, headers: { 'content-type': contentType } }),
    upload,
    signedUrl,
    async download(path) {
      const a = document.createElement('a')
      a.href = await signedUrl(path)
      a.download = '' // the server names the file (Content-Disposition)
      a.style.display = 'none'
      document.body.append(a)
      a.click()
      a.remove()
    },
  }
}
