/// <reference lib="webworker" />
// The app shell's service worker, built by Vite into the client dist as /sw.js (see
// offline/service-worker-plugin.ts, which replaces the manifest placeholder below with every
// file of the build). It makes the app open without the network: the shell and all its
// assets (JS, CSS, the preview worker and PGlite's files) are cached on install; the
// workspace document then comes from IndexedDB (y-indexeddb), not from here. /api and /collab
// are never intercepted: data is live or absent, never a stale copy from this cache.
import { answerAsset, answerNavigation, SHELL, type ShellEnv } from './shell-fetch.ts'

declare const self: ServiceWorkerGlobalScope

// Replaced at build time with a JSON array of the build's files ("/assets/index-….js", …).
const MANIFEST: string[] = JSON.parse('__LABELS_PRECACHE__') as string[]
const VERSION = '__LABELS_BUILD__'
const CACHE = `labels-shell-${VERSION}`

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE)
      await cache.addAll([SHELL, ...MANIFEST])
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys())
        if (name.startsWith('labels-shell-') && name !== CACHE) await caches.delete(name)
      // Take over the page that registered us, so its next reload is served from the cache.
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/collab'))
    return
  const env: ShellEnv = { caches, fetch: (r) => fetch(r), cache: CACHE }
  // The answer goes out at once; a cache write it starts keeps the worker alive meanwhile.
  const keep = (write: Promise<unknown>) => event.waitUntil(write)
  // The page itself: the network first (a new build's shell), the cached shell without it.
  if (req.mode === 'navigate') event.respondWith(answerNavigation(req, env, keep))
  // Build assets have content hashes: the cached copy is the right one.
  else event.respondWith(answerAsset(req, env, keep))
})
