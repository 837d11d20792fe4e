import { createResource, createSignal, Show } from 'solid-js'
import type { HistoryBucketsChange, HistoryBucketsState } from '../../../engine/api.ts'
import { ApiError } from '../../api/http.ts'
import { useSession } from '../../session.tsx'
import { formatDate } from '../../ui/format.ts'
import { parseBoundaryList } from './history-query.ts'

type Granularity = 'day' | 'week' | 'month'

/** The days a change re-counted and kept, in words. */
function changeText(c: HistoryBucketsChange): string {
  const re = `${c.rebucketed.length} stored day${c.rebucketed.length === 1 ? '' : 's'} re-counted.`
  if (c.kept.length === 0) return re
  const list = c.kept
    .map((k) => formatDate(k.date))
    .slice(0, 5)
    .join(', ')
  return `${re} ${c.kept.length} kept in their old buckets (${list}${c.kept.length > 5 ? ', …' : ''}): ${c.kept[0]?.reason}.`
}

/**
 * The fixed buckets of a number or date label's history (docs/api.md#history-buckets): shown to
 * everyone, set by editors; says which stored days are still in other buckets.
 */
export function BucketControl(props: { labelId: string; dataType: 'number' | 'date'; onChange: () => void }) {
  const s = useSession()
  const [state, { refetch }] = createResource(
    () => props.labelId,
    (id) => s.api.get<HistoryBucketsState>(`/api/labels/${id}/history/buckets`),
  )
  // Not fixed yet: the first successful run fixes them, and pushes its history.
  s.live.onLabel(props.labelId, (m) => {
    if (m.type === 'history' && !current()?.buckets) void refetch()
  })
  const [text, setText] = createSignal<string | null>(null)
  const [message, setMessage] = createSignal<{ error: boolean; text: string } | null>(null)
  const current = () => (state.error ? undefined : state())
  const shown = () => {
    const b = current()?.buckets
    if (!b) return 'fixed by the first result with values'
    const what = b.boundaries ? b.boundaries.join(', ') : `per ${b.granularity}`
    return `${what} (${b.source === 'operator' ? 'set by an operator' : 'fixed at the first result'})`
  }
  const apply = async (body: { boundaries: number[] } | { granularity: Granularity }) => {
    setMessage(null)
    try {
      const c = await s.api.send<HistoryBucketsChange>('PUT', `/api/labels/${props.labelId}/history/buckets`, body)
      setMessage({ error: false, text: changeText(c) })
      setText(null)
      void refetch()
      props.onChange()
    } catch (e) {
      setMessage({ error: true, text: e instanceof ApiError ? e.message : String((e as Error).message ?? e) })
    }
  }
  const submitBoundaries = () => {
    const parsed = parseBoundaryList(text() ?? '')
    if (typeof parsed === 'string') setMessage({ error: true, text: `Boundaries: ${parsed}` })
    else void apply({ boundaries: parsed })
  }
  return (
    <div class="buckets" data-testid="history-buckets">
      <span class="hint">
        {props.dataType === 'number' ? 'Intervals' : 'Dates'}:{' '}
        <span data-testid="history-buckets-current">{shown()}</span>
      </span>
      <Show when={s.canEdit}>
        <Show
          when={props.dataType === 'number'}
          fallback={
            <label>
              Granularity
              <select
                value={current()?.buckets?.granularity ?? 'day'}
                onChange={(e) => void apply({ granularity: e.currentTarget.value as Granularity })}
                data-testid="history-buckets-granularity"
              >
                <option value="day">Day</option>
                <option value="week">Week</option>
                <option value="month">Month</option>
              </select>
            </label>
          }
        >
          <label>
            Boundaries
            <input
              type="text"
              inputmode="decimal"
              placeholder="0, 10, 20, 50"
              value={text() ?? current()?.buckets?.boundaries?.join(', ') ?? ''}
              onInput={(e) => setText(e.currentTarget.value)}
              onKeyDown={(e) => e.key === 'Enter' && submitBoundaries()}
              data-testid="history-buckets-boundaries"
            />
          </label>
          <button
            type="button"
            class="btn small"
            disabled={text() === null}
            onClick={submitBoundaries}
            data-testid="history-buckets-apply"
          >
            Apply
          </button>
        </Show>
      </Show>
      <Show when={(current()?.otherDays.length ?? 0) > 0}>
        <span class="hint degraded" data-testid="history-buckets-other-days">
          {current()?.otherDays.length} stored day(s) are in other buckets and can't be compared directly.
        </span>
      </Show>
      <Show when={message()}>
        {(m) => (
          <span class={m().error ? 'field-error inline-error' : 'hint'} role={m().error ? 'alert' : 'status'}>
            {m().text}
          </span>
        )}
      </Show>
    </div>
  )
}
