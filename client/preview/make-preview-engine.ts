import * as Comlink from 'comlink'
import type { LoadedSample, PreviewEngine } from './preview-protocol.ts'

/** Sample of the in-browser preview: large enough for a shape, small enough to load in seconds. */
export const SAMPLE = { users: 2000, seed: 42 } as const

type Shared = { remote: Comlink.Remote<PreviewEngine>; worker: Worker; ready: Promise<LoadedSample>; token: string }
let shared: Shared | null = null

/**
 * Plain: the page's preview worker (started on first use and kept, so reopening the editor is
 * instant), loading the workspace's customer sample with this token. Returns it and a cleanup
 * that terminates the worker. Another token (another operator signed in) gets a new worker:
 * customer data loaded for one operator is never shown to the next.
 */
export function makePreviewEngine(token: string): [{ remote: Comlink.Remote<PreviewEngine>; ready: Promise<LoadedSample> }, () => void] {
  if (shared && shared.token !== token) {
    shared.remote[Comlink.releaseProxy]()
    shared.worker.terminate()
    shared = null
  }
  if (!shared) {
    const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'labels-preview' })
    const remote = Comlink.wrap<PreviewEngine>(worker)
    const url = new URL(`/api/data/sample?users=${SAMPLE.users}&seed=${SAMPLE.seed}`, location.origin).href
    shared = { worker, remote, token, ready: remote.init({ url, token, fallback: { ...SAMPLE } }) }
  }
  const s = shared
  return [s, () => {
    s.remote[Comlink.releaseProxy]()
    s.worker.terminate()
    if (shared === s) shared = null
  }]
}
