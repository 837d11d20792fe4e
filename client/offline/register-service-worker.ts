/// <reference types="vite/client" />
/**
 * Registers the app shell's service worker (/sw.js, which only `vite build` emits: skipped
 * under the dev server, mode 'development'; not keyed on PROD, which is false for a build run
 * under vitest, NODE_ENV=test). Browsers allow service workers only in secure contexts: https,
 * or http on localhost / 127.0.0.1 (both "potentially trustworthy"). Elsewhere the app still
 * works, just not from a cold start without the network.
 */
export function registerServiceWorker(): void {
  if (import.meta.env.MODE === 'development' || !('serviceWorker' in navigator) || !window.isSecureContext) return
  navigator.serviceWorker
    .register('/sw.js', { scope: '/' })
    .catch((e: unknown) => console.warn('service worker not registered:', e))
}
