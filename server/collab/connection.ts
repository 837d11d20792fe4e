import type { WebSocket } from 'ws'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as authProtocol from 'y-protocols/auth'
import * as syncProtocol from 'y-protocols/sync'
import { CollabClose, COLLAB_MAX_MESSAGE_BYTES, type CollabRole, type DocOrigin } from '../../shared/doc/index.ts'
import { isEmptyUpdate, type LiveDoc, type UpdateSink } from './live-doc.ts'
import { step2CacheOf } from './step2-cache.ts'

/** y-websocket message types (the first varUint of every frame). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const

/**
 * Who is connected. Read at every frame, never copied: the token registry lowers `role` in
 * place (the next write is checked against it) and sets `revoked` when the token is withdrawn.
 */
export interface CollabUser {
  name: string
  role: CollabRole
  readonly revoked?: boolean
}

export interface ConnectionLimits {
  maxMessageBytes: number
  /** An awareness frame larger than this closes the connection (4413). */
  maxAwarenessBytes: number
  /** One awareness state (its JSON) larger than this is dropped, not relayed. */
  maxAwarenessStateBytes: number
  /** Awareness frames (and queries) a connection may have handled per second; the excess is coalesced. */
  awarenessPerSecond: number
  /** Awareness client ids one connection may publish states for. */
  maxAwarenessClients: number
  /** Close a client whose unsent backlog exceeds this many bytes. */
  maxBufferedBytes: number
}

export const defaultLimits: ConnectionLimits = {
  maxMessageBytes: COLLAB_MAX_MESSAGE_BYTES,
  maxAwarenessBytes: 64 * 1024,
  maxAwarenessStateBytes: 8 * 1024,
  awarenessPerSecond: 20,
  maxAwarenessClients: 4,
  maxBufferedBytes: 16 * 1024 * 1024,
}

class Malformed extends Error {}

/** Consecutive incomplete sync step 2 answers after which a connection is closed (4400). */
export const MAX_INCOMPLETE_STEP2 = 3

let nextConnectionId = 1

/** Which connection publishes each awareness client id of a document (an id belongs to one connection). */
const awarenessOwners = new WeakMap<LiveDoc, Map<number, CollabConnection>>()
const ownersOf = (live: LiveDoc) => {
  let m = awarenessOwners.get(live)
  if (!m) awarenessOwners.set(live, (m = new Map()))
  return m
}

interface AwarenessEntry {
  clientId: number
  clock: number
  state: string
}

const frame = (write: (e: encoding.Encoder) => void): Uint8Array => {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/**
 * One operator's socket on one workspace document, speaking the y-websocket protocol: sync
 * step 1/2 and updates (refused for viewers), awareness relay, awareness queries. Anything that
 * isn't a well-formed message closes the socket before the document is touched.
 */
export class CollabConnection implements UpdateSink {
  readonly connectionId = nextConnectionId++
  readonly origin: DocOrigin
  /** Awareness client ids this socket has published, removed when it closes. */
  private readonly awarenessIds = new Set<number>()
  private warnedReadOnly = false
  /** A sync step 1 was sent because an update was incomplete (see `incomplete`). */
  private resyncAsked = false
  /** Consecutive sync step 2 messages that were incomplete. */
  private incompleteStep2 = 0
  private closed = false
  refusedUpdates = 0
  /** Awareness states dropped: too large, not an object, or for a client id this connection doesn't own. */
  refusedAwareness = 0
  alive = true
  /** Token bucket of awareness frames (see ConnectionLimits.awarenessPerSecond). */
  private awarenessTokens: number
  private awarenessRefilledAt = Date.now()
  /** Latest states that arrived over the rate, applied when the bucket allows. */
  private readonly deferredAwareness = new Map<number, AwarenessEntry>()
  private awarenessTimer: ReturnType<typeof setTimeout> | null = null

  constructor(
    private readonly socket: WebSocket,
    private readonly live: LiveDoc,
    readonly user: CollabUser,
    private readonly limits: ConnectionLimits,
  ) {
    this.origin = { kind: 'remote', actor: user.name, connectionId: this.connectionId }
    this.awarenessTokens = limits.awarenessPerSecond
  }

  get readOnly(): boolean {
    return this.user.role === 'viewer'
  }

  /** Subscribes to the document and opens the sync handshake. */
  start(): () => void {
    const unsubscribe = this.live.subscribe(this)
    this.send(frame((e) => (encoding.writeVarUint(e, MessageType.sync), syncProtocol.writeSyncStep1(e, this.live.doc))))
    const states = this.live.awareness.getStates()
    if (states.size > 0) this.send(this.awarenessFrame([...states.keys()]))
    return () => {
      this.closed = true
      unsubscribe()
      if (this.awarenessTimer) clearTimeout(this.awarenessTimer)
      const owners = ownersOf(this.live)
      for (const id of this.awarenessIds) if (owners.get(id) === this) owners.delete(id)
      if (this.awarenessIds.size > 0)
        awarenessProtocol.removeAwarenessStates(this.live.awareness, [...this.awarenessIds], null)
    }
  }

  /** Handles one frame; returns a close code when the connection must end. */
  receive(data: Uint8Array, isBinary: boolean): number | null {
    if (data.byteLength > this.limits.maxMessageBytes) return CollabClose.tooLarge
    if (!isBinary || data.byteLength === 0) return CollabClose.malformed
    try {
      return this.dispatch(decoding.createDecoder(data))
    } catch {
      // lib0 throws on truncated varints/arrays, JSON.parse on bad awareness, Malformed on trailing bytes
      return CollabClose.malformed
    }
  }

  private dispatch(d: decoding.Decoder): number | null {
    const type = decoding.readVarUint(d)
    switch (type) {
      case MessageType.sync:
        return this.onSync(d)
      case MessageType.awareness: {
        const update = decoding.readVarUint8Array(d)
        this.expectEnd(d)
        if (update.byteLength > this.limits.maxAwarenessBytes) return CollabClose.tooLarge
        this.onAwareness(update)
        return null
      }
      case MessageType.queryAwareness:
        this.expectEnd(d)
        if (this.takeAwarenessToken()) this.send(this.awarenessFrame([...this.live.awareness.getStates().keys()]))
        return null
      default:
        return CollabClose.malformed
    }
  }

  private onSync(d: decoding.Decoder): number | null {
    const sub = decoding.readVarUint(d)
    const payload = decoding.readVarUint8Array(d)
    this.expectEnd(d)
    if (sub === syncProtocol.messageYjsSyncStep1) {
      Y.decodeStateVector(payload) // throws on garbage
      this.sendStep2(payload)
      return null
    }
    if (sub !== syncProtocol.messageYjsSyncStep2 && sub !== syncProtocol.messageYjsUpdate) return CollabClose.malformed
    if (this.readOnly) return this.refuse(payload)
    const r = this.live.applyRemote(payload, this.origin)
    if (r === 'malformed') return CollabClose.malformed
    if (r === 'incomplete') return this.incomplete(sub === syncProtocol.messageYjsSyncStep2)
    if (sub === syncProtocol.messageYjsSyncStep2) {
      this.incompleteStep2 = 0
      this.resyncAsked = false
    }
    return null
  }

  /**
   * The client sent something that depends on updates the server never received (only a bad or
   * broken client does, or one that got a peer's update some other way, e.g. from another tab).
   * What couldn't be integrated was dropped; ask once for everything the client has that the
   * server lacks (sync step 1: its step 2 answer carries the missing updates too). A client whose
   * step 2 answers stay incomplete can't repair it: closed (4400) after MAX_INCOMPLETE_STEP2.
   */
  private incomplete(isStep2: boolean): number | null {
    this.refusedUpdates++
    if (isStep2 && ++this.incompleteStep2 >= MAX_INCOMPLETE_STEP2) return CollabClose.malformed
    if (isStep2 || !this.resyncAsked) {
      this.resyncAsked = true
      this.send(
        frame((e) => (encoding.writeVarUint(e, MessageType.sync), syncProtocol.writeSyncStep1(e, this.live.doc))),
      )
    }
    return null
  }

  /** Viewers read only: their writes are dropped, the connection stays; told once. */
  private refuse(update: Uint8Array): number | null {
    let decoded: ReturnType<typeof Y.decodeUpdate>
    try {
      decoded = Y.decodeUpdate(update)
    } catch {
      return CollabClose.malformed
    }
    if (isEmptyUpdate(decoded)) return null
    this.refusedUpdates++
    if (!this.warnedReadOnly) {
      this.warnedReadOnly = true
      this.send(
        frame(
          (e) => (
            encoding.writeVarUint(e, MessageType.auth),
            authProtocol.writePermissionDenied(e, 'read-only: viewers cannot edit')
          ),
        ),
      )
    }
    return null
  }

  /**
   * Answers sync step 1 with the state as of now, but only once everything in it is stored:
   * a client never receives what a crash could lose.
   */
  private sendStep2(stateVector: Uint8Array): void {
    // A fresh page's answer (the whole document) is encoded once per document version (step2-cache.ts).
    const msg = step2CacheOf(this.live.doc, MessageType.sync).frame(stateVector)
    const upTo = this.live.enqueuedCount
    void this.live.storedUpTo(upTo).then(() => this.send(msg))
  }

  private expectEnd(d: decoding.Decoder): void {
    if (decoding.hasContent(d)) throw new Malformed('trailing bytes')
  }

  /**
   * Awareness from this socket: every state is checked before anyone sees it. A state for a
   * client id another operator's connection publishes (or the server's), a removal of one, a
   * state that isn't a JSON object or is over `maxAwarenessStateBytes`, or a client id beyond
   * `maxAwarenessClients` is dropped. `user.name` and `user.role` are set to the connection's
   * authenticated user, whatever the client claimed. Over `awarenessPerSecond` frames a second,
   * states are coalesced: the latest per client id is applied when the rate allows.
   */
  private onAwareness(update: Uint8Array): void {
    const d = decoding.createDecoder(update)
    const n = decoding.readVarUint(d)
    const entries: AwarenessEntry[] = []
    for (let i = 0; i < n; i++)
      entries.push({
        clientId: decoding.readVarUint(d),
        clock: decoding.readVarUint(d),
        state: decoding.readVarString(d),
      })
    this.expectEnd(d)
    const owners = ownersOf(this.live)
    for (const e of entries) {
      const state = this.checkAwareness(e, owners)
      if (state === undefined) {
        this.refusedAwareness++
        continue
      }
      if (state === null) {
        owners.get(e.clientId)?.awarenessIds.delete(e.clientId)
        owners.delete(e.clientId)
      } else {
        const previous = owners.get(e.clientId)
        if (previous && previous !== this) previous.awarenessIds.delete(e.clientId) // same operator, reconnected
        owners.set(e.clientId, this)
        this.awarenessIds.add(e.clientId)
      }
      this.deferredAwareness.set(e.clientId, { ...e, state: state === null ? 'null' : state })
    }
    if (this.deferredAwareness.size > 0 && !this.awarenessTimer) {
      if (this.takeAwarenessToken()) this.applyDeferredAwareness()
      else this.scheduleAwareness()
    }
  }

  /** The state to relay (JSON; null for a removal), or undefined when it is refused. */
  private checkAwareness(e: AwarenessEntry, owners: Map<number, CollabConnection>): string | null | undefined {
    if (e.clientId === this.live.doc.clientID) return undefined
    const owner = owners.get(e.clientId)
    // An id is this connection's, or was this same operator's (a reconnect before the old socket timed out).
    if (owner && owner !== this && owner.user.name !== this.user.name) return undefined
    if (!owner && !this.awarenessIds.has(e.clientId) && this.awarenessIds.size >= this.limits.maxAwarenessClients)
      return undefined
    if (Buffer.byteLength(e.state) > this.limits.maxAwarenessStateBytes) return undefined
    const parsed = JSON.parse(e.state) as unknown
    if (parsed === null) return owner === this || (owner && owner.user.name === this.user.name) ? null : undefined
    if (typeof parsed !== 'object' || Array.isArray(parsed)) return undefined
    const state = parsed as Record<string, unknown>
    const claimed = state.user
    const user =
      typeof claimed === 'object' && claimed !== null && !Array.isArray(claimed)
        ? (claimed as Record<string, unknown>)
        : {}
    state.user = { ...user, name: this.user.name, role: this.user.role }
    return JSON.stringify(state)
  }

  private takeAwarenessToken(): boolean {
    const now = Date.now()
    const rate = this.limits.awarenessPerSecond
    this.awarenessTokens = Math.min(rate, this.awarenessTokens + ((now - this.awarenessRefilledAt) * rate) / 1000)
    this.awarenessRefilledAt = now
    if (this.awarenessTokens < 1) return false
    this.awarenessTokens--
    return true
  }

  private scheduleAwareness(): void {
    const wait = Math.ceil(((1 - this.awarenessTokens) * 1000) / this.limits.awarenessPerSecond)
    this.awarenessTimer = setTimeout(
      () => {
        this.awarenessTimer = null
        if (this.closed || this.deferredAwareness.size === 0) return
        if (this.takeAwarenessToken()) this.applyDeferredAwareness()
        else this.scheduleAwareness()
      },
      Math.max(1, wait),
    )
    this.awarenessTimer.unref?.()
  }

  private applyDeferredAwareness(): void {
    const entries = [...this.deferredAwareness.values()]
    this.deferredAwareness.clear()
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, entries.length)
    for (const x of entries) {
      encoding.writeVarUint(e, x.clientId)
      encoding.writeVarUint(e, x.clock)
      encoding.writeVarString(e, x.state)
    }
    awarenessProtocol.applyAwarenessUpdate(this.live.awareness, encoding.toUint8Array(e), this)
  }

  awarenessFrame(clients: number[]): Uint8Array {
    return frame((e) => {
      encoding.writeVarUint(e, MessageType.awareness)
      encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.live.awareness, clients))
    })
  }

  sendUpdate(updateFrame: Uint8Array, origin: DocOrigin): void {
    if (origin.connectionId === this.connectionId) return // it made this update
    this.send(updateFrame)
  }

  send(msg: Uint8Array): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.close(CollabClose.backpressure, 'client too slow')
      return
    }
    this.socket.send(msg, { binary: true }, (err) => err && this.socket.terminate())
  }

  /** Keepalive: a socket that hasn't answered the previous ping is closed. */
  ping(): void {
    if (!this.alive) return this.close(CollabClose.goingAway, 'ping timeout')
    this.alive = false
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping()
  }

  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.socket.close(code, reason)
  }
}
