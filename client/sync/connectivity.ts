import { createSignal, type Accessor } from 'solid-js'

// One page-wide answer to "can this page reach the server now?". Two inputs: the browser's own
// network state (navigator.onLine and its online/offline events) and the workspace's collab
// socket (reported by createWorkspace). The socket is the better witness: the browser says
// "online" behind a dead server or a captive portal. Until the socket has said anything the
// page counts as online, so buttons don't flash disabled while it connects.
const [browserOnline, setBrowserOnline] = createSignal(typeof navigator === 'undefined' ? true : navigator.onLine)
const [serverUp, setServerUp] = createSignal<boolean | null>(null)

if (typeof window !== 'undefined') {
  window.addEventListener('online', () => setBrowserOnline(true))
  window.addEventListener('offline', () => setBrowserOnline(false))
}

/** Reactive: true while the browser has a network and the server's collab socket is (or may be) up. */
export const online: Accessor<boolean> = () => browserOnline() && serverUp() !== false

/** Reactive: the browser's own network state (navigator.onLine). */
export const browserIsOnline: Accessor<boolean> = browserOnline

/** The workspace reports its socket: true once connected, false once a connection closed or failed. */
export function reportServerUp(up: boolean): void {
  setServerUp(up)
}

/** Why a control that needs the server is disabled; `undefined` while online (for `title`). */
export function needsServer(what = 'This'): string | undefined {
  return online()
    ? undefined
    : `${what} needs the server: you are offline. Tree and draft edits go on and are sent when the connection is back.`
}
