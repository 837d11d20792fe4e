import { invalid } from '../../shared/errors.ts'
import { LiveDoc, type LiveDocOptions } from './live-doc.ts'

const WORKSPACE = /^[A-Za-z0-9_-]{1,64}$/

/** True for an acceptable workspace id (it becomes a room name and a storage key). */
export const isWorkspaceId = (w: string): boolean => WORKSPACE.test(w)

/**
 * The live documents of this process, loaded on first use. REST routes and the collab endpoint
 * share it, so a REST write goes through the same document every connected operator sees.
 */
export class DocRegistry {
  private readonly docs = new Map<string, Promise<LiveDoc>>()

  constructor(private readonly opts: LiveDocOptions) {}

  /** The live document of a workspace, loading it once; a failed load is retried next call. */
  get(workspace: string): Promise<LiveDoc> {
    if (!isWorkspaceId(workspace)) return Promise.reject(invalid(`bad workspace id ${JSON.stringify(workspace)}`, '/workspace'))
    let p = this.docs.get(workspace)
    if (!p) {
      p = LiveDoc.load(workspace, this.opts)
      this.docs.set(workspace, p)
      p.catch((e) => {
        this.docs.delete(workspace)
        this.opts.log?.('error', `collab document "${workspace}" failed to load`, e)
      })
    }
    return p
  }

  /** Workspaces currently loaded or loading. */
  get size(): number {
    return this.docs.size
  }

  /** Flushes and snapshots every loaded document. */
  async close(): Promise<void> {
    const all = [...this.docs.values()]
    this.docs.clear()
    await Promise.all(all.map((p) => p.then((d) => d.close(), () => undefined)))
  }
}
