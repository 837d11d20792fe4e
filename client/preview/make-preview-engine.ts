import * as Comlink from 'comlink'
import type { PreviewEngine } from './preview-protocol.ts'

/** Sample size of the in-browser preview: large enough for a shape, small enough to load in seconds. */
export const SAMPLE = { users: 2000, seed: 42 } as const

let shared: { remote: Comlink.Remote<PreviewEngine>; worker: Worker; ready: Promise<{ users: number; events: number; ms: number }> } | null = null

/**
 * Plain: the page's preview worker (started on first use and kept, so reopening the editor is
 * instant), with the sample loading. Returns it and a cleanup that terminates the worker.
 */
export function makePreviewEngine(): [{ remote: Comlink.Remote<PreviewEngine>; ready: Promise<{ users: number; events: number; ms: number }> }, () => void] {
  if (!shared) {
    const worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module', name: 'labels-preview' })
    const remote = Comlink.wrap<PreviewEngine>(worker)
    shared = { worker, remote, ready: remote.init({ ...SAMPLE }) }
  }
  const s = shared
  return [s, () => {
    s.remote[Comlink.releaseProxy]()
    s.worker.terminate()
    if (shared === s) shared = null
  }]
}
