import type { Backfill, Distribution, HistoryResult, LiveMessage, Run } from '../../engine/api.ts'
import { CollabClose } from '../../shared/doc/close-codes.ts'

export type { LiveMessage }

/** Minimal socket surface the hub needs (a `ws` WebSocket fits). */
export interface LiveSocket {
  readonly readyState: number
  /** Bytes queued by send() and not yet handed to the network. */
  readonly bufferedAmount: number
  send(data: string): void
  close(code: number, reason: string): void
}

/** Close code for a reader that does not keep up (the collab endpoint's code). */
export const LIVE_TOO_SLOW = CollabClose.backpressure

const OPEN = 1
const MAX_TOPICS = 1000

/** Parses a client message; returns the topics to subscribe to, or an error text. */
export function parseClientMessage(text: string): { topics: string[] } | { error: string } {
  let msg: unknown
  try {
    msg = JSON.parse(text)
  } catch {
    return { error: 'message is not valid JSON' }
  }
  const sub = (msg as { subscribe?: unknown } | null)?.subscribe
  if (!Array.isArray(sub) || !sub.every((t): t is string => typeof t === 'string' && t.length <= 200))
    return { error: 'expected {"subscribe":["label:ID", "label:*", "runs:*", …]}' }
  const bad = sub.find((t) => !/^(label:.+|runs:\*)$/.test(t))
  if (bad !== undefined) return { error: `unknown topic "${bad}"; use label:ID, label:* or runs:*` }
  if (sub.length > MAX_TOPICS) return { error: `at most ${MAX_TOPICS} topics` }
  return { topics: sub }
}

/**
 * Routes run and result messages to the sockets subscribed to them. Topics: `label:ID`
 * (that label's runs and results), `label:*` (every label), `runs:*` (every run only).
 */
export class LiveHub {
  private readonly topics = new Map<LiveSocket, Set<string>>()

  /**
   * `maxBufferedBytes`: a socket holding more unsent bytes than this is closed (4508), so a slow
   * reader can't grow server memory. `nameOf`: a label's current name, so a `label:NAME` topic
   * follows the label that has the name when a message is sent (one created after the
   * subscription included), as `:label` does in the HTTP routes.
   */
  constructor(
    private readonly opts: { maxBufferedBytes?: number; nameOf?: (labelId: string) => string | undefined } = {},
  ) {}

  /** The topics asking for this label's messages: its id, every label, its current name (looked up once a message). */
  private labelTopics(labelId: string): string[] {
    const name = this.opts.nameOf?.(labelId)
    return name === undefined ? [`label:${labelId}`, 'label:*'] : [`label:${labelId}`, 'label:*', `label:${name}`]
  }

  add(socket: LiveSocket): void {
    this.topics.set(socket, new Set())
  }

  remove(socket: LiveSocket): void {
    this.topics.delete(socket)
  }

  /** Adds topics to a socket's subscription (subscriptions accumulate). */
  subscribe(socket: LiveSocket, topics: readonly string[]): void {
    const set = this.topics.get(socket)
    if (!set) return
    for (const t of topics) if (set.size < MAX_TOPICS) set.add(t)
  }

  get size(): number {
    return this.topics.size
  }

  /** True when someone would receive this label's results (so callers skip the reads otherwise). */
  wantsResults(labelId: string): boolean {
    const wanted = this.labelTopics(labelId)
    for (const set of this.topics.values()) if (wanted.some((t) => set.has(t))) return true
    return false
  }

  publishRun(run: Run): void {
    this.send({ type: 'run', run }, [...this.labelTopics(run.labelId), 'runs:*'])
  }

  publishDistribution(d: Distribution & { labelId: string }): void {
    this.send({ ...d, type: 'distribution' }, this.labelTopics(d.labelId))
  }

  publishHistory(h: HistoryResult): void {
    this.send({ type: 'history', ...h }, this.labelTopics(h.labelId))
  }

  publishBackfill(b: Backfill): void {
    this.send({ type: 'backfill', backfill: b }, this.labelTopics(b.labelId))
  }

  /** Sends `msg` to every socket subscribed to one of `wanted`. */
  private send(msg: LiveMessage, wanted: readonly string[]): void {
    let text: string | null = null
    for (const [socket, set] of this.topics) {
      if (socket.readyState !== OPEN || !wanted.some((t) => set.has(t))) continue
      if (socket.bufferedAmount > (this.opts.maxBufferedBytes ?? 4 * 1024 * 1024)) {
        // The client re-reads its panels after a reconnect, so dropping it loses nothing.
        this.topics.delete(socket)
        socket.close(LIVE_TOO_SLOW, 'client too slow')
        continue
      }
      text ??= JSON.stringify(msg)
      try {
        socket.send(text)
      } catch {
        this.topics.delete(socket)
      }
    }
  }
}
