import * as Y from 'yjs'
import { guardEntryWrites, type GuardedWrite } from '../../shared/doc/label-guard.ts'
import * as encoding from 'lib0/encoding'
import { applyAwarenessUpdate, Awareness, encodeAwarenessUpdate } from 'y-protocols/awareness'
import { writeUpdate } from 'y-protocols/sync'
import { LabelsError } from '../../shared/errors.ts'
import {
  DEFAULT_GROUP_ID,
  ROOT_TYPES,
  draftsOf,
  ensureDefaultGroup,
  groupsOf,
  keyDraftLists,
  isDocOrigin,
  labelsOf,
  makeLabelChangeTracker,
  noLabelChanges,
  repairWorkspace,
  type DocOrigin,
  type LabelChanges,
} from '../../shared/doc/index.ts'
import { makeCreationStamper, type CreationStamper } from '../../shared/doc/creation-stamps.ts'
import { attributeDraftWrites } from '../../shared/doc/draft-authors.ts'
import { keyInParent } from '../../shared/doc/drafts.ts'
import { missingDependency } from '../../shared/doc/update-deps.ts'
import type { DocStore } from './doc-store.ts'

/** Called once an update is stored (so after it is durable), whatever its source. */
export type DocChangeHook = (
  workspace: string,
  changes: LabelChanges,
  origin: DocOrigin,
  doc: Y.Doc,
) => void | Promise<void>

export interface LiveDocOptions {
  store: DocStore
  onDocChange?: DocChangeHook | undefined
  /** Fold the update log into a snapshot after this many stored rows (default 500). */
  compactEvery?: number | undefined
  /** ... or after this long without updates (default 5 s). */
  idleCompactMs?: number | undefined
  log?: (level: 'warn' | 'error', msg: string, err?: unknown) => void
  /** The server's clock for creation stamps (tests inject one; default: the system clock). */
  now?: (() => Date) | undefined
  /**
   * Several processes serve this document (server/cluster/collab-relay.ts). Stored updates reach
   * the other processes through the store (DocStore afterAppend); this sends presence, and
   * snapshots are folded from what is stored (DocStore.compactStored).
   */
  cluster?: { publishAwareness(workspace: string, update: Uint8Array): void } | undefined
  /**
   * Relay pacing (LABELS_COLLAB_RELAY_HOLD_MS, default 25; 0 = every stored batch at once). With
   * many sockets, a stored update that follows the previous relay within `sockets / 5` ms (socket
   * writes kept to about 5,000 a second per document), and at most this long, waits and goes with
   * the updates stored meanwhile as one message per socket.
   */
  relayHoldMs?: number | undefined
}

/** Default of LiveDocOptions.relayHoldMs. */
export const DEFAULT_RELAY_HOLD_MS = 25
/** Socket writes a second per document that relay pacing keeps to (when the hold cap allows). */
const RELAY_WRITES_PER_SECOND = 5_000

/** Origin of what another process stored or relayed (server/cluster): applied as is, never stored again. */
export const CLUSTER_ORIGIN: DocOrigin = { kind: 'cluster', actor: 'server' }

/** Something that wants stored updates (a collab connection). */
export interface UpdateSink {
  readonly connectionId: number
  /** `frame` is the ready y-websocket update message, encoded once for every socket. */
  sendUpdate(frame: Uint8Array, origin: DocOrigin): void
  /** A ready-made frame (awareness relay). */
  send(frame: Uint8Array): void
}

interface Pending {
  update: Uint8Array
  origin: DocOrigin
  changes: LabelChanges
  /** The server wrote into the sender's transaction (creation stamps): the sender gets the update back too. */
  echo: boolean
}

const UNKNOWN_ORIGIN: DocOrigin = { kind: 'server', actor: 'unknown' }
/** The origin without its connection id: every socket gets the update, its sender's too. */
const unattributed = ({ connectionId: _sender, ...rest }: DocOrigin): DocOrigin => rest
/** The origin of updates relayed as one: their socket's when one socket sent them all, else unattributed. */
function commonOrigin(origins: DocOrigin[]): DocOrigin {
  const first = origins[0]!
  const one = first.connectionId !== undefined && origins.every((o) => o.connectionId === first.connectionId)
  return one ? first : unattributed(first)
}
const ROOTS = new Set<string>(ROOT_TYPES)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.())
class Abandoned extends Error {}

/** How long a REST write waits for the store before answering 503 (the edit is kept and stored later). */
export const STORE_WAIT_MS = 5_000

/**
 * Resolves when `stored` does, or rejects after `ms` with LabelsError('unavailable') (HTTP 503)
 * telling the caller the edit is applied and kept in memory, and will be stored (the store is
 * retried until it works: LiveDoc never drops an update).
 */
export function storedWithin(stored: Promise<void>, ms = STORE_WAIT_MS): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LabelsError(
            'unavailable',
            `the document store did not confirm the edit within ${ms} ms (it may be failing, e.g. a full disk): ` +
              'the edit is applied and kept in memory, and will be stored as soon as the store works again',
          ),
        ),
      ms,
    )
  })
  return Promise.race([stored, late]).finally(() => clearTimeout(timer))
}

/** True when a decoded update holds nothing (a client's reply that it has nothing new). */
export const isEmptyUpdate = (d: ReturnType<typeof Y.decodeUpdate>): boolean =>
  d.structs.length === 0 && d.ds.clients.size === 0

/**
 * Outcome of applying a client's update. 'incomplete': it depends on updates the server doesn't
 * have (a gap in a client's clocks, an item next to or inside an unknown one, a deletion of
 * unknown items); nothing of it was applied (Yjs would keep it aside as pending structs, which
 * would be stored in every snapshot and sent to every new client, and nothing guarantees the
 * updates it waits for ever come) and the sender should resend it (answer its sync step 1).
 */
export type ApplyResult = 'applied' | 'empty' | 'malformed' | 'incomplete'

/**
 * Applies a stored snapshot that may hold pending structs or deletions (snapshots written before
 * the server refused incomplete updates stored them). Public API only: the snapshot goes to a
 * scratch document without garbage collection, and only what that document integrated
 * (`Y.snapshot`, `Y.createDocFromSnapshot`) is applied to `doc`. True when something was left out.
 */
function applySnapshot(doc: Y.Doc, snapshot: Uint8Array, origin: DocOrigin): boolean {
  if (!missingDependency(Y.decodeUpdate(snapshot), new Map())) {
    Y.applyUpdate(doc, snapshot, origin)
    return false
  }
  const scratch = new Y.Doc({ gc: false })
  try {
    Y.applyUpdate(scratch, snapshot)
    const integrated = Y.createDocFromSnapshot(scratch, Y.snapshot(scratch))
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(integrated), origin)
    integrated.destroy()
  } finally {
    scratch.destroy()
  }
  return true
}

/**
 * One loaded workspace document: the Y.Doc, its awareness, and the persistence queue.
 * Every update (client, REST, repair) is stored before it is broadcast or reported to the
 * engine hook; a store failure is retried with backoff and the update is never dropped.
 */
export class LiveDoc {
  readonly awareness: Awareness
  private readonly queue: Pending[] = []
  /** Stored updates waiting for the relay pacing window (relayHoldMs), in order. */
  private held: Array<{ update: Uint8Array; origin: DocOrigin }> = []
  private holdTimer: ReturnType<typeof setTimeout> | null = null
  private lastRelayAt = Number.NEGATIVE_INFINITY
  private readonly sinks = new Set<UpdateSink>()
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = []
  private enqueued = 0
  private stored = 0
  private lastSeq: number
  private updatesSinceSnapshot: number
  private pumping = false
  /** The snapshot being written, if any (written beside the relay path, one at a time). */
  private compacting: Promise<void> | null = null
  private closed = false
  private idleTimer: ReturnType<typeof setTimeout> | null = null
  private readonly tracker: ReturnType<typeof makeLabelChangeTracker>
  private readonly stamper: CreationStamper
  /** Remote transactions the server added its own writes to (see Pending.echo). */
  private readonly echo = new WeakSet<Y.Transaction>()
  /** Set by transactions that could break a tree invariant; cleared by a repair. */
  private structural = true
  /** Consecutive failed store attempts (0 when healthy). */
  storeFailures = 0

  private constructor(
    readonly workspace: string,
    readonly doc: Y.Doc,
    private readonly opts: LiveDocOptions,
    stored: { lastSeq: number; rows: number },
  ) {
    this.lastSeq = stored.lastSeq
    this.updatesSinceSnapshot = stored.rows
    this.awareness = new Awareness(doc)
    this.awareness.setLocalState(null) // the server has no presence of its own
    this.tracker = makeLabelChangeTracker(doc)
    this.stamper = makeCreationStamper(doc, opts.now)
    doc.on('afterTransaction', (tr: Y.Transaction) => this.stamper.record(tr))
    // Most edits change a label's text fields or rename a group; only group additions/removals,
    // group moves (parentId), edits of the Default group, label additions/removals and label moves
    // can break an invariant (shared/doc/repair.ts), so only those pay for a projection + repair.
    const groups: unknown = groupsOf(doc),
      labels: unknown = labelsOf(doc),
      drafts: unknown = draftsOf(doc)
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      for (const [type, keys] of tr.changed) {
        if (
          type === groups ||
          type === labels ||
          (type.parent === groups && (keys.has('parentId') || keyInParent(type) === DEFAULT_GROUP_ID)) ||
          (type.parent === labels && keys.has('groupId'))
        )
          this.structural = true
        // A raw write may put junk at a draft id; opening and discarding drafts are the only other writes here.
        if (type === drafts) this.structural = true
      }
    })
    // Presence isn't persisted: relay every awareness change to every socket, the sender included
    // (the stock client's 30 s watchdog counts its own echoed renewals as signs of life).
    this.awareness.on(
      'update',
      ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>, origin: unknown) => {
        const update = encodeAwarenessUpdate(this.awareness, [...added, ...updated, ...removed])
        const e = encoding.createEncoder()
        encoding.writeVarUint(e, 1)
        encoding.writeVarUint8Array(e, update)
        const frame = encoding.toUint8Array(e)
        for (const s of this.sinks) s.send(frame)
        // Presence crosses processes (cluster); what came from another process isn't sent back.
        if (origin !== CLUSTER_ORIGIN) this.opts.cluster?.publishAwareness(this.workspace, update)
      },
    )
    doc.on('update', (update: Uint8Array, origin: unknown, _d: Y.Doc, tr: Y.Transaction) => {
      // ---- cluster (issue 11): another process stored it; relay it here, never store it again.
      if (origin === CLUSTER_ORIGIN)
        return this.publishBatch(
          [{ update, origin: CLUSTER_ORIGIN, changes: this.tracker.take(tr), echo: false }],
          update,
        )
      // ---- end cluster
      const o = isDocOrigin(origin) ? origin : UNKNOWN_ORIGIN
      this.queue.push({ update, origin: o, changes: this.tracker.take(tr), echo: this.echo.has(tr) })
      this.enqueued++
      void this.pump()
    })
  }

  /** Loads a workspace from the store, creates the Default group if missing and repairs. */
  static async load(workspace: string, opts: LiveDocOptions): Promise<LiveDoc> {
    const stored = await opts.store.load(workspace)
    const doc = new Y.Doc()
    const load: DocOrigin = { kind: 'load', actor: 'server' }
    const broken = (why: string) =>
      new LabelsError(
        'internal',
        `stored document of workspace "${workspace}" is damaged (${why}); refusing to serve it`,
        '/collab_updates',
      )
    try {
      doc.transact(() => {
        // Snapshots written before incomplete updates were refused may hold pending structs: leave them out.
        if (stored.snapshot && applySnapshot(doc, stored.snapshot, load)) {
          opts.log?.('warn', `stored snapshot of "${workspace}" held updates that could never be integrated; dropped`)
        }
        stored.updates.forEach((u, i) => {
          const decoded = Y.decodeUpdate(u)
          // The server stores only updates that changed the document: an empty one is damage (a zeroed row reads as one).
          if (isEmptyUpdate(decoded)) throw broken(`stored update ${i + 1} of ${stored.updates.length} is empty`)
          // Every stored update was integrated when it was stored, so it must integrate now; one
          // that waits for something means rows are missing (e.g. the snapshot's row was lost).
          if (missingDependency(decoded, doc))
            throw broken('stored updates depend on content that is not stored: rows are missing')
          Y.applyUpdate(doc, u, load)
        })
      }, load)
    } catch (e) {
      if (e instanceof LabelsError) throw e
      throw broken(`can't be decoded: ${(e as Error).message}`)
    }
    const live = new LiveDoc(workspace, doc, opts, { lastSeq: stored.lastSeq, rows: stored.updates.length })
    ensureDefaultGroup(doc)
    repairWorkspace(doc)
    // Lists stored before they had order keys get them once, here, rather than racing in every
    // operator's first move (shared/doc/README.md, "List order").
    keyDraftLists(doc)
    return live
  }

  /**
   * Applies an update from a client: refuses malformed bytes and unknown root types before
   * touching the document, then repairs invariants the update may have broken.
   */
  applyRemote(update: Uint8Array, origin: DocOrigin): ApplyResult {
    let decoded: ReturnType<typeof Y.decodeUpdate>
    try {
      decoded = Y.decodeUpdate(update)
    } catch {
      return 'malformed'
    }
    if (isEmptyUpdate(decoded)) return 'empty'
    for (const s of decoded.structs)
      if (s instanceof Y.Item && typeof s.parent === 'string' && !ROOTS.has(s.parent)) return 'malformed'
    // Checked before anything is applied: nothing is ever kept aside as pending (see ApplyResult).
    const missing = missingDependency(decoded, this.doc)
    if (missing) return missing.reason === 'bad-ref' ? 'malformed' : 'incomplete'
    let guarded: GuardedWrite[] = []
    try {
      // One transaction: the server's own writes (creation stamps) join the client's, so every
      // observer sees one transaction, as it would for the same edit made over REST.
      this.doc.transact((tr) => {
        Y.applyUpdate(this.doc, update, origin) // joins this transaction and marks it remote
        const stamped = this.stamper.stamp(tr)
        // Draft authors are the sender's authenticated operator, whatever the client wrote.
        const attributed = origin.kind === 'remote' && attributeDraftWrites(tr, origin.actor)
        // Label and group fields the REST operations would refuse get their earlier value back, or
        // the new entry is removed (shared/doc/label-guard.ts).
        guarded = guardEntryWrites(tr)
        if (stamped || attributed || guarded.length > 0) {
          this.echo.add(tr)
          // The server wrote in it: Yjs gives a document a new client id when a remote
          // transaction advances the document's own clock (it assumes a clash of ids).
          tr.local = true
        }
      }, origin)
    } catch {
      return 'malformed'
    }
    if (this.structural) {
      repairWorkspace(this.doc)
      this.structural = false // after: the repair's own transaction sets it
    }
    for (const g of guarded)
      this.opts.log?.(
        'warn',
        `collab: ${origin.kind === 'remote' ? origin.actor : origin.kind} wrote ${g.kind} ${g.id}` +
          `${g.field ? ` field ${g.field}` : ''} refused (${g.reason}): ${g.action}`,
      )
    return 'applied'
  }

  // ---- cluster (issue 11) -------------------------------------------------------------------

  /**
   * Applies an update another process stored (or the presence it relayed), as is: no creation
   * stamps (the integrating process stamped), no repair, not stored again; relayed to this
   * process's connections and reported to onDocChange with the cluster origin. An update that
   * depends on something this process hasn't seen yet (a missed notification) is not applied:
   * the document re-reads the store instead (`resync`).
   */
  applyStored(update: Uint8Array): ApplyResult {
    if (this.closed) return 'empty'
    let decoded: ReturnType<typeof Y.decodeUpdate>
    try {
      decoded = Y.decodeUpdate(update)
    } catch {
      return 'malformed'
    }
    if (isEmptyUpdate(decoded)) return 'empty'
    if (missingDependency(decoded, this.doc)) {
      void this.resync()
      return 'incomplete'
    }
    Y.applyUpdate(this.doc, update, CLUSTER_ORIGIN)
    return 'applied'
  }

  /** Applies presence another process relayed. */
  applyAwareness(update: Uint8Array): void {
    if (this.closed) return
    try {
      applyAwarenessUpdate(this.awareness, update, CLUSTER_ORIGIN)
    } catch (e) {
      this.opts.log?.('warn', 'cluster: a relayed awareness update could not be applied', e)
    }
  }

  private resyncing: Promise<void> | null = null
  private resyncAgain = false

  /**
   * Re-reads the stored document and applies what this process lacks (after a lost cluster
   * connection, or an update whose dependencies never arrived). Applying known content is a no-op.
   */
  resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true
      return this.resyncing
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false
        const stored = await this.opts.store.load(this.workspace)
        if (this.closed) return
        this.doc.transact(() => {
          if (stored.snapshot) applySnapshot(this.doc, stored.snapshot, CLUSTER_ORIGIN)
          for (const u of stored.updates)
            if (!missingDependency(Y.decodeUpdate(u), this.doc)) Y.applyUpdate(this.doc, u, CLUSTER_ORIGIN)
        }, CLUSTER_ORIGIN)
      } while (this.resyncAgain)
    })()
      .catch((e: unknown) => this.opts.log?.('error', `cluster: re-reading "${this.workspace}" failed`, e))
      .finally(() => {
        this.resyncing = null
      })
    return this.resyncing
  }

  // ---- end cluster ---------------------------------------------------------------------------

  /** Resolves once every update made so far is stored (REST routes await this before answering). */
  flushed(): Promise<void> {
    return this.storedUpTo(this.enqueued)
  }

  /** Count of updates enqueued so far; pair with storedUpTo to send only durable state. */
  get enqueuedCount(): number {
    return this.enqueued
  }

  storedUpTo(n: number): Promise<void> {
    if (this.stored >= n) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ upTo: n, resolve }))
  }

  get pendingUpdates(): number {
    return this.queue.length
  }

  get connectionCount(): number {
    return this.sinks.size
  }

  /** No connection and nothing waiting for the store: the document may be unloaded. */
  get idle(): boolean {
    return !this.closed && this.sinks.size === 0 && this.queue.length === 0
  }

  /** Starts receiving stored updates; returns the unsubscribe function. */
  subscribe(sink: UpdateSink): () => void {
    this.sinks.add(sink)
    return () => this.sinks.delete(sink)
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    if (this.idleTimer) clearTimeout(this.idleTimer)
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, 200)
        const merged = batch.length === 1 ? batch[0]!.update : Y.mergeUpdates(batch.map((b) => b.update))
        this.lastSeq = await this.storeWithRetry(merged)
        this.queue.splice(0, batch.length)
        this.stored += batch.length
        this.updatesSinceSnapshot += batch.length
        this.publishBatch(batch, merged)
        this.wake()
        // Off the relay path: the next batch is stored and relayed while the snapshot is written.
        if (this.updatesSinceSnapshot >= (this.opts.compactEvery ?? 500)) this.startCompaction()
      }
    } catch (e) {
      if (!(e instanceof Abandoned)) throw e
    } finally {
      this.pumping = false
    }
    this.scheduleIdleCompaction()
  }

  private scheduleIdleCompaction(): void {
    if (this.closed || this.pumping || this.updatesSinceSnapshot === 0) return
    if (this.idleTimer) clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => this.compactIdle(), this.opts.idleCompactMs ?? 5000)
    this.idleTimer.unref?.()
  }

  /** Retries forever with capped exponential backoff: an update is never dropped. */
  private async storeWithRetry(update: Uint8Array): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const seq = await this.opts.store.append(this.workspace, update)
        if (this.storeFailures > 0)
          this.opts.log?.('warn', `collab store for "${this.workspace}" recovered after ${this.storeFailures} failures`)
        this.storeFailures = 0
        return seq
      } catch (e) {
        if (this.closed) throw new Abandoned('document closed while its store was failing')
        this.storeFailures++
        this.opts.log?.(
          'error',
          `collab store for "${this.workspace}" failed (attempt ${attempt + 1}); keeping the update in memory and retrying`,
          e,
        )
        await sleep(Math.min(5000, 50 * 2 ** Math.min(attempt, 10)))
      }
    }
  }

  /**
   * Relays a stored batch as one message per socket (the store's merged update): with hundreds of
   * sockets, a message per update per socket kept the main thread in socket writes (the soak's
   * profile: half of it in `writev` at 100 edits/s to 250 sockets). A batch holds more than one
   * update only when updates arrived while the previous one was being stored, so an idle server
   * still relays each update alone, at once. The sender of every
   * update in the batch gets nothing (an echo goes to its sender too);
   * a sender of some of them gets its own back with the others (Yjs skips what a replica has).
   */
  private publishBatch(batch: Pending[], merged: Uint8Array): void {
    // An echo carries no connection id, so the sender gets the server's part of its transaction.
    this.relay(merged, commonOrigin(batch.map((p) => (p.echo ? unattributed(p.origin) : p.origin))))
    for (const p of batch) this.report(p)
  }

  /**
   * Sends an update to every socket but its sender's, encoded once — at once, or, when the
   * previous relay was less than the pacing gap ago, with the updates stored until the gap has
   * passed, merged into one message per socket (relayHoldMs). Each socket write costs the main
   * thread a system call: the soak's profile, after stored batches were merged, still showed 39 %
   * of it in `writev` (100 edits/s to 251 sockets, mostly batches of one). The gap grows with the
   * sockets (5,000 writes a second per document), so a few operators get every update at once.
   */
  private relay(update: Uint8Array, origin: DocOrigin): void {
    if (this.sinks.size === 0 && this.held.length === 0) return
    const cap = this.opts.relayHoldMs ?? DEFAULT_RELAY_HOLD_MS
    const gap = Math.min(cap, (this.sinks.size * 1000) / RELAY_WRITES_PER_SECOND)
    const now = performance.now()
    if (this.held.length === 0 && now - this.lastRelayAt >= gap) return this.send(update, origin)
    this.held.push({ update, origin })
    if (!this.holdTimer) {
      this.holdTimer = setTimeout(() => this.releaseHeld(), Math.max(0, this.lastRelayAt + gap - now))
      this.holdTimer.unref?.()
    }
  }

  /** Relays the held updates as one: to every socket but the sender's when one socket sent them all. */
  private releaseHeld(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer)
    this.holdTimer = null
    const held = this.held
    this.held = []
    if (held.length === 0) return
    const update = held.length === 1 ? held[0]!.update : Y.mergeUpdates(held.map((h) => h.update))
    this.send(update, commonOrigin(held.map((h) => h.origin)))
  }

  private send(update: Uint8Array, origin: DocOrigin): void {
    this.lastRelayAt = performance.now()
    if (this.sinks.size === 0) return
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0) // messageSync
    writeUpdate(e, update)
    const frame = encoding.toUint8Array(e)
    for (const s of this.sinks) s.sendUpdate(frame, origin)
  }

  /** Tells the engine hook which labels an update changed. */
  private report(p: Pending): void {
    if (this.opts.onDocChange && !noLabelChanges(p.changes)) {
      try {
        void Promise.resolve(this.opts.onDocChange(this.workspace, p.changes, p.origin, this.doc)).catch((e) =>
          this.opts.log?.('error', 'onDocChange failed', e),
        )
      } catch (e) {
        this.opts.log?.('error', 'onDocChange failed', e)
      }
    }
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!
      if (this.stored >= w.upTo) {
        this.waiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  private compactIdle(): void {
    if (this.closed || this.updatesSinceSnapshot === 0) return
    this.startCompaction()
  }

  /** Starts a snapshot unless one is being written (then the next threshold or idle timer starts the next). */
  private startCompaction(): void {
    if (this.compacting) return
    this.compacting = this.compact().finally(() => {
      this.compacting = null
      this.scheduleIdleCompaction() // what was stored meanwhile
    })
  }

  /**
   * Folds the log into a snapshot. The document is encoded now, synchronously, with `lastSeq`:
   * every row ≤ lastSeq is in it (an update is applied before it is stored). It may hold more
   * (updates still queued for the store); those rows are kept and replayed on load, which is
   * harmless (Yjs updates are idempotent). Appends go on meanwhile: they get later seqs.
   */
  private async compact(): Promise<void> {
    // Several processes store this document: fold what is stored, not this process's memory (cluster).
    const stored = this.opts.cluster && this.opts.store.compactStored
    const snapshot = stored ? null : Y.encodeStateAsUpdate(this.doc)
    const upTo = this.lastSeq,
      covered = this.updatesSinceSnapshot
    try {
      if (snapshot) await this.opts.store.compact(this.workspace, snapshot, upTo)
      else await this.opts.store.compactStored?.(this.workspace)
      this.updatesSinceSnapshot -= covered
    } catch (e) {
      this.opts.log?.('warn', `collab snapshot of "${this.workspace}" failed; the update log is kept`, e)
    }
  }

  /**
   * Stores everything pending, writes a final snapshot and releases the document. With a store
   * that keeps failing it gives up after `flushTimeoutMs` and says how many updates were unsaved
   * (the clients that made them still hold them and resend them on their next sync).
   */
  async close(flushTimeoutMs = 15_000): Promise<void> {
    if (this.closed) return
    const timedOut = await Promise.race([this.flushed().then(() => false), sleep(flushTimeoutMs).then(() => true)])
    this.closed = true
    if (this.idleTimer) clearTimeout(this.idleTimer)
    try {
      if (timedOut) {
        // The store is failing: its retry loop ends at the next failed attempt (closed), and
        // nothing more can be stored now. Still release the document and its awareness (whose
        // timer would otherwise keep running, and the process alive).
        this.opts.log?.('error', `collab document "${this.workspace}" closed with ${this.queue.length} unsaved updates`)
        return
      }
      while (this.pumping) await sleep(5)
      if (this.idleTimer) clearTimeout(this.idleTimer)
      await this.compacting
      if (this.updatesSinceSnapshot > 0) await this.compact()
    } finally {
      this.releaseHeld() // what the relay pacing held goes out before the document is released
      this.awareness.destroy()
      this.doc.destroy()
    }
  }
}
