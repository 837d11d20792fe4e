import {
  createEffect,
  createMemo,
  createResource,
  createSignal,
  ErrorBoundary,
  For,
  lazy,
  Match,
  onCleanup,
  onMount,
  Show,
  Switch,
  type JSX,
} from 'solid-js'
import { ApiError, makeApi, type Api } from './api/http.ts'
import type { DataSchema, Me } from './api/types.ts'
import { Login } from './auth/login.tsx'
import { clearToken, readToken, saveToken } from './auth/token.ts'
import { GroupTree } from './features/groups/group-tree.tsx'
import { labelRefOf, labelStep, resolveLabelRef } from './features/labels/label-address.ts'
import { OverviewPage } from './features/overview/overview-page.tsx'
import { createLive } from './live/create-live.ts'
import { warmPreviewEngine } from './preview/make-preview-engine.ts'
import { loadMe, rememberedMe } from './offline/me-cache.ts'
import { OfflineBanner } from './offline/offline-banner.tsx'
import { online } from './sync/connectivity.ts'
import { createUndoKeys } from './offline/undo-keys.ts'
import { SessionProvider, useSession, type Session } from './session.tsx'
import { createWorkspace } from './sync/create-workspace.ts'
import { Recover } from './ui/recover.tsx'
import { createToasts } from './ui/toasts.ts'

// The label page (charts, history, explain) and the editor (rule forms, the preview) are loaded
// when first opened, not before the tree: about half of the app's code, compiled on every load of
// the landing page before (issue 9, "Scale": load → interactive). The service worker keeps them
// offline like every other file of the build.
const LabelDetail = lazy(() => import('./features/labels/label-detail.tsx').then((m) => ({ default: m.LabelDetail })))
const LabelEditor = lazy(() => import('./features/labels/label-editor.tsx').then((m) => ({ default: m.LabelEditor })))

/** An error boundary's fallback that renders nothing: logs the error, then runs `after` (once mounted). */
function Failed(props: { error: unknown; after: () => void }): JSX.Element {
  onMount(() => {
    console.error(props.error)
    props.after()
  })
  return null
}

/** The web app: sign in with a token, then the Label System screen. */
export function App(): JSX.Element {
  const [token, setToken] = createSignal(readToken())
  const [reason, setReason] = createSignal<string | null>(null)
  const signOut = (why: string | null) => {
    clearToken()
    setReason(why)
    setToken(null)
  }
  // A token this browser signed in with before starts at once with the answer remembered for it,
  // and GET /api/me is read meanwhile: a different answer (a role changed) starts the signed-in
  // screen again with it, a refusal signs out. The workspace's socket no longer waits for a round
  // trip at every reload (issue 9, "Scale"). Offline, the remembered answer is all there is.
  const [me, { mutate }] = createResource(token, (t) => {
    const kept = rememberedMe(t)
    if (!kept) return loadMe(t)
    loadMe(t).then(
      (fresh) => {
        if (token() === t && JSON.stringify(fresh) !== JSON.stringify(kept)) mutate(fresh)
      },
      (e: unknown) => {
        if (token() === t && e instanceof ApiError) signOut(`Sign-in failed: ${e.message}`)
      },
    )
    return kept
  })
  createEffect(() => {
    if (me.error) signOut(`Sign-in failed: ${String((me.error as Error).message)}`)
  })
  return (
    <Switch>
      <Match when={!token()}>
        <Login
          reason={reason()}
          onToken={(t) => {
            saveToken(t)
            setReason(null)
            setToken(t)
          }}
        />
      </Match>
      <Match when={me.state === 'ready' && token() ? me() : undefined} keyed>
        {(m) => <Signed token={token()!} me={m} onSignOut={signOut} />}
      </Match>
      <Match when={true}>
        <div class="splash">Loading…</div>
      </Match>
    </Switch>
  )
}

function Signed(props: { token: string; me: Me; onSignOut: (why: string | null) => void }): JSX.Element {
  const toasts = createToasts()
  const api: Api = makeApi(props.token, () => props.onSignOut('Your token is no longer valid; sign in again.'))
  const workspace = createWorkspace(props.token, props.me, (e) => toasts.show('error', e.message))
  createUndoKeys(workspace.undo, () => props.me.role !== 'viewer')
  // After the workspace's socket has opened (or failed to): its handshake goes first.
  const live = createLive(props.token, { openWhen: () => workspace.status() !== 'connecting' })
  // The in-browser preview's engine starts while the operator looks around (once input pauses),
  // not when the editor opens.
  if (props.me.role !== 'viewer') {
    let warmed = false
    let cancelWarm = () => {}
    onCleanup(() => cancelWarm())
    createEffect(() => {
      if (warmed || !workspace.synced()) return
      warmed = true
      cancelWarm = warmPreviewEngine(props.token)
    })
  }
  // Read while online (again when the connection comes back); offline the last answer stays.
  const [schema, { refetch: refetchSchema }] = createResource(online, () => api.get<DataSchema>('/api/data/schema'))
  // The label asked for: an id, or from an address `#/labels/<id or name>` either. It is shown
  // once the synced document has it; a name is then pinned to its id, so a later rename of the
  // label (or another label taking the name) does not change what is open.
  const [ref, setRef] = createSignal<string | null>(labelRefOf(location.hash))
  const selected = createMemo(() => {
    const r = ref()
    return r === null ? null : resolveLabelRef(workspace.view, r)
  })
  createEffect(() => {
    const id = selected()
    if (id !== null && id !== ref()) setRef(id)
  })
  // A link to another label within the app changes only the hash.
  const onHash = () => setRef(labelRefOf(location.hash))
  window.addEventListener('hashchange', onHash)
  window.addEventListener('popstate', onHash) // Back/Forward over the steps selectLabel pushed
  onCleanup(() => {
    window.removeEventListener('hashchange', onHash)
    window.removeEventListener('popstate', onHash)
  })
  const [editor, setEditor] = createSignal<{ labelId?: string; groupId?: string; draftId?: string } | null>(null)
  const session: Session = {
    api,
    me: props.me,
    workspace,
    live,
    toasts,
    schema: () => (schema.error ? undefined : schema.latest), // an errored resource throws when read
    refreshSchema: () => void refetchSchema(),
    canEdit: props.me.role !== 'viewer',
    selectLabel(id) {
      setRef(id)
      // Opening another label (or the overview) is a step Back and Forward move over.
      const step = labelStep(location.hash, id)
      if (step.push) history.pushState(null, '', step.url || location.pathname)
      else history.replaceState(null, '', step.url || location.pathname)
    },
    selectedLabel: selected,
    openEditor: setEditor,
  }
  return (
    <SessionProvider value={session}>
      <div class="shell">
        {/* Each recovers by itself when the connection changes; the rest of the page stays. */}
        <Recover
          resetKey={workspace.status()}
          what="The top bar"
          compact
          actions={
            <button type="button" class="btn small" onClick={() => props.onSignOut(null)}>
              Sign out
            </button>
          }
        >
          <TopBar onSignOut={() => props.onSignOut(null)} />
        </Recover>
        <Recover resetKey={`${online()} ${workspace.status()}`} what="The offline notice" compact>
          <OfflineBanner />
        </Recover>
        <div class="main">
          <aside class="sidebar">
            <Recover resetKey="tree" what="The label tree">
              <GroupTree />
            </Recover>
          </aside>
          <main class="content">
            {/* The last resort (each card has its own): it recovers when the operator opens another label. */}
            <Recover resetKey={selected() ?? ref()} what="This page">
              <Show when={ref()} fallback={<OverviewPage />}>
                {(r) => (
                  <Show when={selected()} keyed fallback={<NoLabel labelRef={r()} />}>
                    {(id) => <LabelDetail labelId={id} />}
                  </Show>
                )}
              </Show>
            </Recover>
          </main>
        </div>
        {/* The editor is outside the page's boundary: if it fails (or its code can't be loaded),
            it closes and says why, and the rest of the app goes on. */}
        <ErrorBoundary
          fallback={(err: unknown, reset) => (
            <Failed
              error={err}
              after={() => {
                toasts.show(
                  'error',
                  `The label editor failed and was closed: ${err instanceof Error ? err.message : String(err)}. The draft is kept; open it again from the tree.`,
                )
                setEditor(null)
                reset()
              }}
            />
          )}
        >
          <Show when={editor()} keyed>
            {(e) => <LabelEditor {...e} onClose={() => setEditor(null)} />}
          </Show>
        </ErrorBoundary>
        <div class="toasts" aria-live="polite">
          <For each={toasts.list()}>
            {(t) => (
              <div class={`toast ${t.kind}`} data-testid={`toast-${t.kind}`} onClick={() => toasts.dismiss(t.id)}>
                {t.text}
              </div>
            )}
          </For>
        </div>
      </div>
    </SessionProvider>
  )
}

function TopBar(props: { onSignOut: () => void }): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const statusText = () =>
    ({
      connecting: 'connecting…',
      connected: ws.synced() ? 'live' : 'syncing…',
      disconnected: 'offline — working locally',
      unauthorized: 'token refused',
      unavailable: 'workspace unavailable',
    })[ws.status()]
  return (
    <header class="topbar">
      <div class="brand">
        <span class="crumbs">Marketing Center ›</span>{' '}
        <h1 class="app-title">
          <a href="#/" class="home" title="All labels (overview)" data-testid="home">
            Label System
          </a>
        </h1>
      </div>
      <div class="topbar-right">
        <span class={`conn ${ws.status()} ${ws.synced() ? 'synced' : ''}`} data-testid="sync-status">
          {statusText()}
        </span>
        <div class="online" data-testid="online">
          <span class="avatar me" style={{ background: '#111827' }} title={`${s.me.name} (${s.me.role}) — you`}>
            {s.me.name.slice(0, 1).toUpperCase()}
          </span>
          <For each={ws.presence.peers()}>
            {(p) => (
              <span
                class="avatar"
                style={{ background: p.user.color }}
                title={`${p.user.name} (${p.user.role})${p.editing ? ` — editing a ${p.editing.kind}` : ''}${p.dragging ? ` — dragging a ${p.dragging.kind}` : ''}`}
                data-testid="peer"
              >
                {p.user.name.slice(0, 1).toUpperCase()}
              </span>
            )}
          </For>
        </div>
        <span class="me">
          {s.me.name} · {s.me.role}
        </span>
        <Show when={s.canEdit}>
          <div class="seg undo" role="group" aria-label="Undo and redo">
            <button
              type="button"
              class="btn small"
              disabled={!ws.undo.canUndo()}
              onClick={() => ws.undo.undo()}
              title="Undo your last change (Ctrl/Cmd+Z). Other operators' changes are never undone."
              data-testid="undo"
            >
              ↶ Undo
            </button>
            <button
              type="button"
              class="btn small"
              disabled={!ws.undo.canRedo()}
              onClick={() => ws.undo.redo()}
              title="Redo (Shift+Ctrl/Cmd+Z)"
              data-testid="redo"
            >
              ↷ Redo
            </button>
          </div>
          <button type="button" class="btn primary small" onClick={() => s.openEditor({})} data-testid="new-label">
            + New label
          </button>
        </Show>
        <button type="button" class="btn small" onClick={() => props.onSignOut()}>
          Sign out
        </button>
      </div>
    </header>
  )
}

/** An address or selection naming no label: not synced yet, or no label has that id or name. */
function NoLabel(props: { labelRef: string }): JSX.Element {
  const s = useSession()
  return (
    <div class="empty" data-testid="no-label">
      {s.workspace.ready()
        ? `There is no label "${props.labelRef}" (by id or name); it may have been deleted.`
        : 'Loading…'}
    </div>
  )
}
