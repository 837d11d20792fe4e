import { describe, expect, it } from 'vitest'
import { answerAsset, answerNavigation, SHELL, type ShellEnv } from '../../client/offline/shell-fetch.ts'

/** A cache storage whose writes wait until the test lets them finish (a slow disk). */
function slowCaches() {
  const stored = new Map<string, Response>()
  const waiting: Array<() => void> = []
  const keyOf = (k: RequestInfo | URL) =>
    typeof k === 'string' ? k : k instanceof URL ? k.pathname : new URL(k.url).pathname
  const cache = {
    put: (k: RequestInfo | URL, res: Response) =>
      new Promise<void>((done) =>
        waiting.push(() => {
          stored.set(keyOf(k), res)
          done()
        }),
      ),
  }
  const caches = {
    open: async () => cache as unknown as Cache,
    match: async (k: RequestInfo | URL) => stored.get(keyOf(k)),
  } as Pick<CacheStorage, 'open' | 'match'>
  return {
    caches,
    stored,
    /** Finishes every write started so far. */
    finishWrites: async () => {
      // The write starts after caches.open() resolves: let it get there first.
      await new Promise((r) => setTimeout(r, 0))
      for (const w of waiting.splice(0)) w()
    },
  }
}

/** Resolves to `p`'s value, or to 'pending' when `p` has not settled once the queued promise work ran (no timing). */
async function settledNow<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 0))])
}

// client/offline/service-worker.ts: a navigation is answered with the network's page as soon as
// it is there; keeping its copy for offline use happens meanwhile, under event.waitUntil.
describe("the service worker's answers", () => {
  it('answers a navigation before its cache write is done, and keeps the worker alive for the write', async () => {
    const c = slowCaches()
    const env: ShellEnv = { caches: c.caches, fetch: async () => new Response('<html>new shell</html>'), cache: 'x' }
    const kept: Promise<unknown>[] = []
    const answer = await settledNow(answerNavigation(new Request('http://h/'), env, (p) => kept.push(p)))
    expect(answer).not.toBe('pending')
    expect(await (answer as Response).text()).toBe('<html>new shell</html>')
    expect(kept).toHaveLength(1)
    expect(await settledNow(kept[0]!)).toBe('pending') // the write is still going on
    await c.finishWrites()
    await kept[0]
    expect(await c.stored.get(SHELL)?.text()).toBe('<html>new shell</html>')
  })

  it('answers a navigation without the network from the kept shell', async () => {
    const c = slowCaches()
    c.stored.set(SHELL, new Response('<html>kept</html>'))
    const env: ShellEnv = { caches: c.caches, fetch: () => Promise.reject(new TypeError('offline')), cache: 'x' }
    const kept: Promise<unknown>[] = []
    const res = await answerNavigation(new Request('http://h/#/labels/x'), env, (p) => kept.push(p))
    expect(await res.text()).toBe('<html>kept</html>')
    expect(kept).toHaveLength(0)
  })

  it('does not keep an error page as the shell', async () => {
    const c = slowCaches()
    const env: ShellEnv = { caches: c.caches, fetch: async () => new Response('down', { status: 503 }), cache: 'x' }
    const kept: Promise<unknown>[] = []
    const res = await answerNavigation(new Request('http://h/'), env, (p) => kept.push(p))
    expect(res.status).toBe(503)
    expect(kept).toHaveLength(0)
  })

  it('answers an asset from the network before its cache write is done, then from the cache', async () => {
    const c = slowCaches()
    let fetched = 0
    const env: ShellEnv = {
      caches: c.caches,
      fetch: async () => (fetched++, new Response('js')),
      cache: 'x',
    }
    const kept: Promise<unknown>[] = []
    const req = () => new Request('http://h/assets/index-abc.js')
    const answer = await settledNow(answerAsset(req(), env, (p) => kept.push(p)))
    expect(answer).not.toBe('pending')
    expect(await (answer as Response).text()).toBe('js')
    await c.finishWrites()
    await Promise.all(kept)
    expect(await (await answerAsset(req(), env, (p) => kept.push(p))).text()).toBe('js')
    expect(fetched).toBe(1)
  })
})
