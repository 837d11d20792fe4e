import { createEffect, createResource, createSignal, on, Show, type JSX } from 'solid-js'
import type { Backfill } from '../../../engine/api.ts'
import { ApiError } from '../../api/http.ts'
import { useSession } from '../../session.tsx'
import { formatDate } from '../../ui/format.ts'
import { needsServer, online } from '../../sync/connectivity.ts'

/** Days a backfill may cover (docs/api.md#backfill). */
const maxDays = 90

/** A backfill still going. */
const active = (b: Backfill | null | undefined): boolean => b?.status === 'queued' || b?.status === 'running'

/**
 * "Backfill N days" (editors, labels with a past: not import): POST …/backfill, then the
 * backfill's progress as the live channel pushes it (re-read after a reconnect), and its end.
 */
export function BackfillControl(props: { labelId: string }): JSX.Element {
  const s = useSession()
  const [days, setDays] = createSignal(30)
  const [error, setError] = createSignal<string | null>(null)
  const [latest, { mutate, refetch }] = createResource(
    () => props.labelId,
    async (id) => (await s.api.get<{ backfills: Backfill[] }>(`/api/labels/${id}/backfills`)).backfills[0] ?? null,
  )
  const current = () => (latest.error ? null : latest())
  createEffect(
    on(
      () => props.labelId,
      (id) =>
        s.live.onLabel(id, (m) => {
          if (m.type !== 'backfill') return
          const cur = current()
          // The newest backfill wins: an older one's late message never replaces it.
          if (!cur || m.backfill.id === cur.id || m.backfill.createdAt >= cur.createdAt) mutate(m.backfill)
        }),
    ),
  )
  s.live.onReconnect(() => void refetch())
  const validDays = () => Number.isInteger(days()) && days() >= 1 && days() <= maxDays
  const start = async () => {
    setError(null)
    try {
      const r = await s.api.send<{ backfillId: string; backfill: Backfill }>(
        'POST',
        `/api/labels/${props.labelId}/backfill`,
        { days: days() },
      )
      const cur = current()
      // A live message may have arrived first with a later state.
      if (!cur || cur.id !== r.backfill.id) mutate(r.backfill)
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String((e as Error).message ?? e))
    }
  }
  const cancel = async (id: string) => {
    setError(null)
    try {
      mutate(await s.api.send<Backfill>('DELETE', `/api/backfills/${id}`))
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String((e as Error).message ?? e))
    }
  }
  const b = () => current()
  return (
    <div class="backfill" data-testid="history-backfill">
      <label>
        Days
        <input
          type="number"
          min="1"
          max={maxDays}
          step="1"
          value={days()}
          onInput={(e) => setDays(Number(e.currentTarget.value))}
          aria-invalid={validDays() ? undefined : 'true'}
          aria-describedby={validDays() ? undefined : 'backfill-days-error'}
          data-testid="history-backfill-days"
        />
      </label>
      <button
        type="button"
        class="btn small"
        disabled={!online() || !validDays() || active(b())}
        title={online() ? 'Calculate the history of each past day, as of the end of that day' : needsServer('Backfill')}
        onClick={() => void start()}
        data-testid="history-backfill-start"
      >
        Backfill {validDays() ? days() : 'N'} days
      </button>
      <Show when={!validDays()}>
        <span class="field-error inline-error" id="backfill-days-error" role="alert">
          Days: a whole number from 1 to {maxDays}.
        </span>
      </Show>
      <Show when={b()}>
        {(x) => (
          <span class="backfill-status" role="status" data-testid="history-backfill-status" data-status={x().status}>
            <Show when={active(x())}>
              <progress max={x().days} value={x().done} aria-label="Backfill progress" />{' '}
              {x().status === 'queued' ? 'Waiting in the run queue…' : 'Backfilling…'} {x().done} of {x().days} days{' '}
              <button
                type="button"
                class="btn small"
                disabled={!online()}
                title={online() ? 'Stop the backfill; the days written stay' : needsServer('Cancel')}
                onClick={() => void cancel(x().id)}
                data-testid="history-backfill-cancel"
              >
                Cancel
              </button>
            </Show>
            <Show when={x().status === 'cancelled'}>
              Backfill cancelled after {x().done} of {x().days} days.
            </Show>
            <Show when={x().status === 'succeeded'}>
              Backfilled {x().done} days ({formatDate(x().from)} – {formatDate(x().to)}).
            </Show>
            <Show when={x().status === 'failed'}>
              <span class="error">
                Backfill stopped after {x().done} of {x().days} days: {x().error}
              </span>
            </Show>
          </span>
        )}
      </Show>
      <Show when={error()}>
        <span class="field-error inline-error" role="alert" data-testid="history-backfill-error">
          {error()}
        </span>
      </Show>
    </div>
  )
}
