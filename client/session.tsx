import { createContext, useContext, type JSX } from 'solid-js'
import type { Api } from './api/http.ts'
import type { DataSchema, Me } from './api/types.ts'
import type { Live } from './live/create-live.ts'
import type { Workspace } from './sync/create-workspace.ts'
import type { Toasts } from './ui/toasts.ts'

/** Everything a signed-in page needs: the API, who I am, the shared workspace, live results, notices. */
export interface Session {
  api: Api
  me: Me
  workspace: Workspace
  live: Live
  toasts: Toasts
  schema: () => DataSchema | undefined
  /** Reads the data schema again (after data was loaded from this page). */
  refreshSchema(): void
  /** Can this operator edit groups and labels? */
  canEdit: boolean
  /** Opens a label (detail view), or none. */
  selectLabel(id: string | null): void
  selectedLabel: () => string | null
  /** Opens the label editor: a new label (optionally in a group) or an existing one. */
  openEditor(target: { labelId?: string; groupId?: string; draftId?: string } | null): void
}

const SessionContext = createContext<Session>()

export function SessionProvider(props: { value: Session; children: JSX.Element }): JSX.Element {
  return <SessionContext.Provider value={props.value}>{props.children}</SessionContext.Provider>
}

/** The current session; throws when used outside <SessionProvider>. */
export function useSession(): Session {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession() must be used inside <SessionProvider> (the signed-in app shell)')
  return s
}
