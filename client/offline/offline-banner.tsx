import { createSignal, onCleanup, Show, type JSX } from 'solid-js'
import { useSession } from '../session.tsx'
import { online } from '../sync/connectivity.ts'

const clock = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })

function ago(ms: number): string {
  const min = Math.floor(ms / 60_000)
  if (min < 1) return 'less than a minute'
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  return h < 48 ? `${h} h ${min % 60} min` : `${Math.floor(h / 24)} days`
}

/**
 * The page is offline: since when, how many of this page's changes wait to be sent, and what
 * still works. Shown while the server can't be reached.
 */
export function OfflineBanner(): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const [now, setNow] = createSignal(Date.now())
  const timer = setInterval(() => setNow(Date.now()), 30_000)
  onCleanup(() => clearInterval(timer))
  const waiting = () => {
    const n = ws.pending()
    return n === 0
      ? 'no changes wait to be sent'
      : `${n} change${n === 1 ? '' : 's'} wait${n === 1 ? 's' : ''} to be sent`
  }
  return (
    <Show when={!online()}>
      <div class="offline-banner" role="status" data-testid="offline-banner" data-pending={ws.pending()}>
        <strong>Offline</strong>
        <Show when={ws.offlineSince()} fallback={<span> — the server can't be reached.</span>}>
          {(since) => (
            <span data-testid="offline-since">
              {' '}
              since {clock(since())} ({ago(now() - since())}).
            </span>
          )}
        </Show>{' '}
        <span data-testid="offline-pending">{waiting()}</span>
        {s.canEdit
          ? '; keep editing the tree and drafts: they are saved in this browser and merge when the connection is back.'
          : '.'}{' '}
        <span class="hint">Publish, recalculation, the server preview, imports and exports need the server.</span>
      </div>
    </Show>
  )
}
