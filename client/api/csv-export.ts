import { type Accessor, createSignal } from 'solid-js'
import { online } from '../sync/connectivity.ts'
import type { Api } from './http.ts'

/**
 * An "Export data" link: its href is the bare path (no token, so copying it gives nothing
 * away); a click downloads through a signed link (POST /api/links). Offline it does nothing
 * (the link shows why); a failed export is shown as `error()`.
 */
export function csvExport(
  api: Api,
  path: () => string,
): { error: Accessor<string | null>; onClick: (e: MouseEvent) => void } {
  const [error, setError] = createSignal<string | null>(null)
  const onClick = (e: MouseEvent) => {
    e.preventDefault()
    if (!online()) return
    setError(null)
    api
      .download(path())
      .catch((err: unknown) => setError(`Could not export: ${err instanceof Error ? err.message : String(err)}`))
  }
  return { error, onClick }
}
