import { invalid } from '../../shared/errors.ts'
import { LiveDoc, type LiveDocOptions } from './live-doc.ts'

const WORKSPACE = /^[A-Za-z0-9_-]{1,64}$/

/** True for an acceptable workspace id (it becomes a room name and a storage key). */
export const isWorkspaceId = (w: string): boolean => WORKSPACE.test(w)

/** Default of DocRegistryOptions.unloadAfterMs. */
export const DEFAULT_UNLOAD_AFTER_MS = 30_000

export interface DocRegistryOptions extends LiveDocOptions {
  /**
   * A leased document (see `acquire`) is stored, snapshotted and dropped from memory once it
   * has had no lease for this long (default 30 s).
   */
  unloadAfterMs?: number | undefined
}

/** A hold on a loaded document; the document can't be unloaded until every lease is released. */
export interface DocLease {
  readonly live: LiveDoc
  /** Idempotent. */
  release(): void
}

interface Entry {
  load: Promise<LiveDoc>
  /** Set once `load` resolved. */
  live: LiveDoc | null
  /** Held by `get()`: server-side code keeps the document for the registry's lifetime. */
  pinned: boolean
  leases: number
  timer: ReturnType<typeof setTimeout> | null
  /** The final store/snapshot in progress; callers wait for it, then load afresh. */
  unloading: Promise<void> | null
}

export interface DocRegistryStats {
  /** Documents loaded or loading now. */
  loaded: number
  /** Documents unloaded after their grace period since start. */
  unloaded: number
}

/**
 * The live documents of this process, loaded on first use. REST routes and the collab endpoint
 * share it, so a REST write goes through the same document every connected operator sees.
 *
 * Two kinds of holders: `get()` pins a document for the registry's lifetime (server-side code
 * such as DocWorkspace keeps `live.doc` and its observers, and reads it synchronously, so it
 * must never be swapped under it); `acquire()` leases it (collab connections). A document that
 * is not pinned and has had no lease for `unloadAfterMs` is stored, snapshotted and dropped;
 * the next `acquire`/`get` loads it again from the store with every update in it.
 */
export class DocRegistry {
  private readonly docs = new Map<string, Entry>()
  private unloaded = 0
  private closing = false

  constructor(private readonly opts: DocRegistryOptions) {}

  /**
   * The live document of a workspace, loading it once and keeping it loaded from then on; a
   * failed load is retried next call.
   */
  async get(workspace: string): Promise<LiveDoc> {
    return (await this.enter(workspace, 'pin')).live
  }

  /** The live document of a workspace, held until the lease is released. */
  async acquire(workspace: string): Promise<DocLease> {
    const { entry, live } = await this.enter(workspace, 'lease')
    let released = false
    return {
      live,
      release: () => {
        if (released) return
        released = true
        entry.leases--
        this.arm(workspace, entry)
      },
    }
  }

  private async enter(workspace: string, hold: 'pin' | 'lease'): Promise<{ entry: Entry; live: LiveDoc }> {
    if (!isWorkspaceId(workspace)) throw invalid(`bad workspace id ${JSON.stringify(workspace)}`, '/workspace')
    for (;;) {
      if (this.closing) throw new Error('document registry is closed')
      const existing = this.docs.get(workspace)
      if (existing?.unloading) {
        await existing.unloading // then load what it stored
        continue
      }
      const entry = existing ?? this.startLoad(workspace)
      // Count the hold before awaiting, so no grace timer can fire in between.
      if (hold === 'pin') entry.pinned = true
      else entry.leases++
      if (entry.timer) clearTimeout(entry.timer)
      entry.timer = null
      try {
        return { entry, live: await entry.load }
      } catch (e) {
        if (hold === 'lease') entry.leases--
        throw e
      }
    }
  }

  private startLoad(workspace: string): Entry {
    const entry: Entry = {
      load: LiveDoc.load(workspace, this.opts),
      live: null,
      pinned: false,
      leases: 0,
      timer: null,
      unloading: null,
    }
    this.docs.set(workspace, entry)
    entry.load.then(
      (live) => {
        entry.live = live
      },
      (e: unknown) => {
        if (this.docs.get(workspace) === entry) this.docs.delete(workspace)
        this.opts.log?.('error', `collab document "${workspace}" failed to load`, e)
      },
    )
    return entry
  }

  /** Starts the grace period of a document nobody holds. */
  private arm(workspace: string, entry: Entry): void {
    if (entry.pinned || entry.leases > 0 || entry.unloading || this.closing || this.docs.get(workspace) !== entry)
      return
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = setTimeout(() => this.unload(workspace, entry), this.opts.unloadAfterMs ?? DEFAULT_UNLOAD_AFTER_MS)
    entry.timer.unref?.()
  }

  private unload(workspace: string, entry: Entry): void {
    entry.timer = null
    if (entry.pinned || entry.leases > 0 || entry.unloading || this.closing || this.docs.get(workspace) !== entry)
      return
    const live = entry.live
    if (!live) return // still loading: whoever loads it holds it and re-arms on release
    // Updates still waiting for the store (a failing store): never drop them, try again later.
    if (!live.idle) return this.arm(workspace, entry)
    entry.unloading = live
      .close()
      .then(() => {
        this.unloaded++
      })
      .catch((e: unknown) => this.opts.log?.('error', `collab document "${workspace}" failed to unload`, e))
      .finally(() => {
        if (this.docs.get(workspace) === entry) this.docs.delete(workspace)
      })
  }

  /**
   * The document if it is loaded or loading (then once loaded), else null: what another process
   * stored is applied to documents held here (a loading one reads it from the store or gets it
   * after; applying twice changes nothing); one not held will read it from the store when loaded.
   */
  held(workspace: string): Promise<LiveDoc> | null {
    const e = this.docs.get(workspace)
    if (!e || e.unloading || this.closing) return null
    return e.load
  }

  /** Documents loaded now. */
  loadedDocs(): LiveDoc[] {
    return [...this.docs.values()].flatMap((e) => (e.live && !e.unloading ? [e.live] : []))
  }

  /** Workspaces currently loaded or loading. */
  get size(): number {
    return this.docs.size
  }

  stats(): DocRegistryStats {
    return { loaded: this.docs.size, unloaded: this.unloaded }
  }

  /** Flushes and snapshots every loaded document. */
  async close(): Promise<void> {
    this.closing = true
    const all = [...this.docs.values()]
    this.docs.clear()
    for (const e of all) if (e.timer) clearTimeout(e.timer)
    await Promise.all(
      all.map(async (e) => {
        if (e.unloading) return e.unloading
        return e.load.then(
          (d) => d.close(),
          () => undefined,
        )
      }),
    )
  }
}
