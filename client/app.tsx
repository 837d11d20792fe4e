import { createResource, For, Show } from 'solid-js'

/** The token from ?token= (first visit) or the one remembered from before. */
function token(): string | null {
  const fromUrl = new URLSearchParams(location.search).get('token')
  if (fromUrl) {
    localStorage.setItem('labels.token', fromUrl)
    history.replaceState(null, '', location.pathname)
    return fromUrl
  }
  return localStorage.getItem('labels.token')
}

interface LabelRow { id: string; name: string; displayName: string; lastRun: { status: string } | null }

async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token() ?? ''}` } })
  if (!res.ok) throw new Error(((await res.json()) as { error: { message: string } }).error.message)
  return (await res.json()) as T
}

/** Placeholder page until the real UI lands: who you are and the labels with their last run. */
export function App() {
  const [me] = createResource(() => api<{ name: string; role: string }>('/api/me'))
  const [labels] = createResource(() => api<{ labels: LabelRow[] }>('/api/labels'))
  return (
    <main style={{ 'font-family': 'system-ui, sans-serif', 'max-width': '48rem', margin: '2rem auto', padding: '0 1rem' }}>
      <h1>Labels</h1>
      <Show when={me()} fallback={<p>{me.error ? `Sign-in failed: ${String(me.error.message)} — open the address printed by the server (with ?token=).` : 'Loading…'}</p>}>
        {(m) => <p>Signed in as {m().name} ({m().role}).</p>}
      </Show>
      <Show when={labels()}>
        {(l) => (
          <ul>
            <For each={l().labels}>{(x) => <li>{x.displayName} <code>{x.name}</code> — {x.lastRun?.status ?? 'never run'}</li>}</For>
          </ul>
        )}
      </Show>
    </main>
  )
}
