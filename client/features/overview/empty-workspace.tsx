import { createSignal, For, Show, type JSX } from 'solid-js'
import { ApiError } from '../../api/http.ts'
import type { DataSchema } from '../../api/types.ts'
import type { IngestReport } from '../../../engine/api.ts'
import { useSession } from '../../session.tsx'
import { formatCount } from '../../ui/format.ts'

/**
 * True once the data schema is known and holds no event yet: no rule but an import can be
 * calculated (custom rules on attributes alone are rare), so loading data is the next step.
 */
export const isEmptyWorkspace = (d: DataSchema | undefined): boolean => !!d && d.events.length === 0

/** The content type POST /api/data/* reads a file as, from its name (NDJSON or CSV), or null. */
export function dataContentType(fileName: string): string | null {
  const n = fileName.toLowerCase()
  if (n.endsWith('.csv')) return 'text/csv'
  if (n.endsWith('.ndjson') || n.endsWith('.jsonl') || n.endsWith('.json')) return 'application/x-ndjson'
  return null
}

/** The README's curl lines for loading data, for this server's address. */
export function loadDataCommands(origin: string): string {
  return [
    'T=…   # your token',
    `curl -H "Authorization: Bearer $T" -H 'content-type: application/x-ndjson' \\`,
    `  --data-binary @users.ndjson  ${origin}/api/data/users      # {"user_id","properties":{…}}`,
    `curl -H "Authorization: Bearer $T" -H 'content-type: text/csv' \\`,
    `  --data-binary @events.csv    ${origin}/api/data/events     # user_id,event,time,event_id,…`,
  ].join('\n')
}

/**
 * What a workspace without customer data says on its landing pane: the next step is loading
 * users and events (the curl lines, or an upload here for admins), or an import label.
 */
export function EmptyWorkspace(): JSX.Element {
  const s = useSession()
  const [busy, setBusy] = createSignal<string | null>(null)
  const [outcome, setOutcome] = createSignal<{ kind: 'ok' | 'error'; text: string } | null>(null)
  const load = async (kind: 'users' | 'events', file: File | undefined) => {
    if (!file) return
    const type = dataContentType(file.name)
    if (!type) {
      setOutcome({ kind: 'error', text: `${file.name}: send a .csv, .ndjson or .jsonl file` })
      return
    }
    setBusy(kind)
    setOutcome(null)
    try {
      const r = await s.api.post<IngestReport>(`/api/data/${kind}`, file, type)
      const text = `${file.name}: stored ${formatCount(r.stored)} ${kind}${r.duplicates ? ` (${formatCount(r.duplicates)} already stored)` : ''}`
      setOutcome({ kind: 'ok', text })
      s.toasts.show('info', text) // stays when this card goes (the workspace has events now)
      s.refreshSchema()
    } catch (e) {
      const rows =
        e instanceof ApiError
          ? (e.details as { errors?: Array<{ row: number; reason: string }> } | undefined)?.errors
          : undefined
      const first = rows?.[0] ? ` — row ${rows[0].row}: ${rows[0].reason}` : ''
      setOutcome({ kind: 'error', text: `${file.name}: ${(e as Error).message}${first}` })
    } finally {
      setBusy(null)
    }
  }
  return (
    <section class="card empty-workspace" data-testid="empty-workspace">
      <h3>
        {s.schema()?.userAttributes.length
          ? 'This workspace has no events yet'
          : 'This workspace has no customer data yet'}
      </h3>
      <p>
        Labels are calculated from your customers and their events. Load them first: users (<code>user_id</code> and
        attributes), then events (<code>user_id</code>, <code>event</code>, <code>time</code> and properties), as NDJSON
        or CSV.
      </p>
      <Show
        when={s.me.role === 'admin'}
        fallback={<p class="hint">Loading data needs an admin token; ask an admin, or use these lines with one:</p>}
      >
        <div class="load-data">
          <For each={['users', 'events'] as const}>
            {(kind) => (
              <label class="btn">
                {busy() === kind ? `Loading ${kind}…` : `Upload ${kind} file…`}
                <input
                  type="file"
                  accept=".csv,.ndjson,.jsonl,.json"
                  class="sr-only"
                  disabled={busy() !== null}
                  onChange={(e) => {
                    void load(kind, e.currentTarget.files?.[0])
                    e.currentTarget.value = ''
                  }}
                  data-testid={`upload-${kind}`}
                />
              </label>
            )}
          </For>
        </div>
        <Show when={outcome()}>
          {(o) => (
            <p class={o().kind === 'error' ? 'field-error' : 'hint'} role="status" data-testid="upload-outcome">
              {o().text}
            </p>
          )}
        </Show>
        <p class="hint">Or from a shell:</p>
      </Show>
      <pre class="json" data-testid="load-data-commands">
        {loadDataCommands(location.origin)}
      </pre>
      <p class="hint">
        Labels whose values you already have need no data: create a label with the method "Import" and upload a CSV of{' '}
        <code>user_id,value</code>.
      </p>
    </section>
  )
}
