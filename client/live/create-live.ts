import { createEffect, createSignal, onCleanup, type Accessor } from 'solid-js'
import type { LiveMessage } from '../api/types.ts'
import { tokenProtocol, WS_PROTOCOL } from '../../shared/ws-protocol.ts'

type Listener = (msg: LiveMessage) => void

export interface Live {
  connected: Accessor<boolean>
  /** Reactive: listens to one label's run/distribution/history messages until the owner is disposed. */
  onLabel(labelId: string, fn: Listener): void
  /** Reactive: every label's run status changes (topic `runs:*`), until the owner is disposed. */
  onRuns(fn: Listener): void
  /** Reactive: calls `fn` each time the socket opens again after a drop (pushes may have been missed meanwhile). */
  onReconnect(fn: () => void): void
}

/** The live channel's address for this page (no token: it goes in the subprotocol). */
export function liveUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api/live`
}

const labelOf = (m: LiveMessage): string | null =>
  m.type === 'run'
    ? m.run.labelId
    : m.type === 'backfill'
      ? m.backfill.labelId
      : m.type === 'distribution' || m.type === 'history'
        ? m.labelId
        : null

/** The longest the live socket waits for `openWhen` (ms). */
const OPEN_WAIT_MS = 3000

/**
 * Reactive: one `/api/live` socket for the page (reconnecting with backoff); subscriptions
 * are re-sent after a reconnect. Closed with the owner.
 *
 * With `openWhen`, the socket opens once it is true (or after OPEN_WAIT_MS): the page passes "the
 * workspace's socket is no longer connecting". A browser opens one WebSocket to a host at a
 * time (RFC 6455 §4.1), so a live socket opened first held the workspace's handshake back
 * (~0.1 s of the load at 5,000 labels, issue 9); run messages are read once the overview is shown.
 */
export function createLive(token: string, o: { openWhen?: Accessor<boolean> } = {}): Live {
  const listeners = new Map<string, Set<Listener>>()
  const reconnected = new Set<() => void>()
  const runListeners = new Set<Listener>()
  let opened = false
  const [connected, setConnected] = createSignal(false)
  let socket: WebSocket | null = null
  let closed = false
  let retry = 500
  let timer: ReturnType<typeof setTimeout> | undefined
  const subscribe = (topics: string[]) => {
    if (socket?.readyState === WebSocket.OPEN && topics.length) socket.send(JSON.stringify({ subscribe: topics }))
  }
  const open = () => {
    const ws = new WebSocket(liveUrl(), [WS_PROTOCOL, tokenProtocol(token)])
    socket = ws
    ws.onopen = () => {
      retry = 500
      setConnected(true)
      subscribe([...listeners.keys()].map((id) => `label:${id}`).concat(runListeners.size ? ['runs:*'] : []))
      if (opened) reconnected.forEach((fn) => fn())
      opened = true
    }
    ws.onmessage = (ev) => {
      let msg: LiveMessage
      try {
        msg = JSON.parse(String(ev.data)) as LiveMessage
      } catch {
        return
      }
      const id = labelOf(msg)
      if (id) listeners.get(id)?.forEach((fn) => fn(msg))
      if (msg.type === 'run') runListeners.forEach((fn) => fn(msg))
    }
    ws.onclose = () => {
      setConnected(false)
      if (closed) return
      timer = setTimeout(open, retry)
      retry = Math.min(retry * 2, 10_000)
    }
  }
  if (o.openWhen) {
    const when = o.openWhen
    timer = setTimeout(open, OPEN_WAIT_MS)
    createEffect(() => {
      if (socket || !when()) return
      clearTimeout(timer)
      open()
    })
  } else open()
  onCleanup(() => {
    closed = true
    clearTimeout(timer)
    socket?.close()
  })
  return {
    connected,
    onLabel(labelId, fn) {
      let set = listeners.get(labelId)
      if (!set) {
        listeners.set(labelId, (set = new Set()))
        subscribe([`label:${labelId}`])
      }
      set.add(fn)
      // The server keeps the topic (subscriptions accumulate); only the listener goes.
      onCleanup(() => set.delete(fn))
    },
    onRuns(fn) {
      if (!runListeners.size) subscribe(['runs:*'])
      runListeners.add(fn)
      onCleanup(() => runListeners.delete(fn))
    },
    onReconnect(fn) {
      reconnected.add(fn)
      onCleanup(() => reconnected.delete(fn))
    },
  }
}
