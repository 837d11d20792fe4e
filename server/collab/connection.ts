import type { WebSocket } from 'ws'
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import * as awarenessProtocol from 'y-protocols/awareness'
import * as authProtocol from 'y-protocols/auth'
import * as syncProtocol from 'y-protocols/sync'
import { CollabClose, COLLAB_MAX_MESSAGE_BYTES, type CollabRole, type DocOrigin } from '../../shared/doc/index.ts'
import { isEmptyUpdate, type LiveDoc, type UpdateSink } from './live-doc.ts'

/** y-websocket message types (the first varUint of every frame). */
export const MessageType = { sync: 0, awareness: 1, auth: 2, queryAwareness: 3 } as const

export interface CollabUser { name: string; role: CollabRole }

export interface ConnectionLimits {
  maxMessageBytes: number
  maxAwarenessBytes: number
  /** Close a client whose unsent backlog exceeds this many bytes. */
  maxBufferedBytes: number
}

export const defaultLimits: ConnectionLimits = {
  maxMessageBytes: COLLAB_MAX_MESSAGE_BYTES,
  maxAwarenessBytes: 64 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
}

class Malformed extends Error {}

/** Consecutive incomplete sync step 2 answers after which a connection is closed (4400). */
export const MAX_INCOMPLETE_STEP2 = 3

let nextConnectionId = 1

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
  alive = true

  constructor(
    private readonly socket: WebSocket,
    private readonly live: LiveDoc,
    readonly user: CollabUser,
    private readonly limits: ConnectionLimits,
  ) {
    this.origin = { kind: 'remote', actor: user.name, connectionId: this.connectionId }
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
      if (this.awarenessIds.size > 0) awarenessProtocol.removeAwarenessStates(this.live.awareness, [...this.awarenessIds], null)
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
        this.trackAwareness(update)
        awarenessProtocol.applyAwarenessUpdate(this.live.awareness, update, this)
        return null
      }
      case MessageType.queryAwareness:
        this.expectEnd(d)
        this.send(this.awarenessFrame([...this.live.awareness.getStates().keys()]))
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
      this.send(frame((e) => (encoding.writeVarUint(e, MessageType.sync), syncProtocol.writeSyncStep1(e, this.live.doc))))
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
      this.send(frame((e) => (encoding.writeVarUint(e, MessageType.auth), authProtocol.writePermissionDenied(e, 'read-only: viewers cannot edit'))))
    }
    return null
  }

  /**
   * Answers sync step 1 with the state as of now, but only once everything in it is stored:
   * a client never receives what a crash could lose.
   */
  private sendStep2(stateVector: Uint8Array): void {
    const msg = frame((e) => (encoding.writeVarUint(e, MessageType.sync), syncProtocol.writeSyncStep2(e, this.live.doc, stateVector)))
    const upTo = this.live.enqueuedCount
    void this.live.storedUpTo(upTo).then(() => this.send(msg))
  }

  private expectEnd(d: decoding.Decoder): void {
    if (decoding.hasContent(d)) throw new Malformed('trailing bytes')
  }

  private trackAwareness(update: Uint8Array): void {
    const d = decoding.createDecoder(update)
    const n = decoding.readVarUint(d)
    for (let i = 0; i < n; i++) {
      const clientId = decoding.readVarUint(d)
      decoding.readVarUint(d) // clock
      const state = JSON.parse(decoding.readVarString(d)) as unknown
      if (state === null) this.awarenessIds.delete(clientId)
      else this.awarenessIds.add(clientId)
    }
    this.expectEnd(d)
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
