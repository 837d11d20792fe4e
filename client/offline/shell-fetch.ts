/**
 * The service worker's answers (offline/service-worker.ts), apart from the worker's globals so
 * they can be tested with a cache and a network of the test's own.
 */

/** What an answer uses: the worker's caches and fetch, and the cache the shell is kept in. */
export interface ShellEnv {
  caches: Pick<CacheStorage, 'open' | 'match'>
  fetch: (req: Request) => Promise<Response>
  /** The cache's name (one per build). */
  cache: string
}

/** Keeps the worker alive until a write is done (`event.waitUntil`), without the answer waiting for it. */
export type KeepAlive = (write: Promise<unknown>) => void

/** Where the single-page shell is kept: any address is the same page (labels live in the hash). */
export const SHELL = '/'

/**
 * A navigation: the network's page first (a new build's shell), kept as the shell for offline
 * use; the cached shell without the network. The page is answered as soon as the network's
 * response is there: the cache write goes on under `keep` (it waited for IndexedDB-backed cache
 * storage before, on every load, issue 9).
 */
export async function answerNavigation(req: Request, env: ShellEnv, keep: KeepAlive): Promise<Response> {
  let res: Response
  try {
    res = await env.fetch(req)
  } catch {
    return (await env.caches.match(SHELL)) ?? Response.error()
  }
  if (res.ok) store(env, SHELL, res, keep)
  return res
}

/**
 * A build asset (content-hashed names: a cached copy is the right one): from the cache, else
 * from the network, kept when it is under /assets/ (answered first, written meanwhile).
 */
export async function answerAsset(req: Request, env: ShellEnv, keep: KeepAlive): Promise<Response> {
  const hit = await env.caches.match(req, { ignoreSearch: true })
  if (hit) return hit
  const res = await env.fetch(req)
  if (res.ok && new URL(req.url).pathname.startsWith('/assets/')) store(env, req, res, keep)
  return res
}

function store(env: ShellEnv, key: RequestInfo, res: Response, keep: KeepAlive): void {
  // Cloned now: the page reads the original's body as soon as it is answered.
  const copy = res.clone()
  const write = env.caches.open(env.cache).then((c) => c.put(key, copy))
  // A failed write (storage full) leaves the previous copy; it must not fail the event.
  keep(write.catch((e: unknown) => console.warn('service worker: not cached', key, e)))
}
