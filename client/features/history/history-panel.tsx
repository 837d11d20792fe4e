import { createEffect, createMemo, createResource, createSignal, For, on, Show, type JSX } from 'solid-js'
import type { HistoryResult } from '../../api/types.ts'
import { historyAsText } from '../../../shared/history-values.ts'
import { count, percent } from '../../charts/chart-data.ts'
import { ChartMount } from '../../charts/chart-mount.tsx'
import { renderLines } from '../../charts/render-lines.ts'
import { csvExport } from '../../api/csv-export.ts'
import { useSession } from '../../session.tsx'
import { formatDate } from '../../ui/format.ts'
import { Recover } from '../../ui/recover.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import { BackfillControl } from './backfill-control.tsx'
import { BucketControl } from './bucket-control.tsx'
import { daysAgo, filterHistory, historyQuery, rangeFilter, validRange, type HistoryFilter } from './history-query.ts'

/**
 * Historical data (seed "Historical Data"): lines per value over days, table, value/date
 * filters, export, live. One read per date range: the value chips filter it here, and a
 * run's pushed history (every day) is cut to the range instead of read again.
 */
export function HistoryPanel(props: HistoryProps): JSX.Element {
  // A failure inside replaces this card only; Retry, or another label, starts it afresh.
  return (
    <Recover resetKey={props.labelId} what="The history">
      <History_ {...props} />
    </Recover>
  )
}

interface HistoryProps {
  labelId: string
  /** The label's data type: number and date labels show their fixed buckets. */
  dataType?: DataType
  /** Whether the label has a past to calculate (not an import label): editors get "Backfill N days". */
  canBackfill?: boolean
}

function History_(props: HistoryProps): JSX.Element {
  const s = useSession()
  const [filter, setFilter] = createSignal<HistoryFilter>({ from: daysAgo(30), to: '', values: [] })
  const [measure, setMeasure] = createSignal<'users' | 'proportion'>('users')
  const set = (p: Partial<HistoryFilter>) => setFilter((f) => ({ ...f, ...p }))
  // The range query is a memo (string equality), so toggling a value chip reads nothing.
  const rangeQuery = createMemo(() => historyQuery(rangeFilter(filter())))
  // "To" before "From" is refused here, next to the field, and not sent (the server would 400).
  // A memo, like the range query: the resource's source must not re-run when a value chip toggles.
  const rangeError = createMemo(() => (validRange(filter()) ? null : '"To" must be on or after "From".'))
  const [range, { refetch, mutate }] = createResource(
    () => (rangeError() ? false : { id: props.labelId, q: rangeQuery() }),
    // Values by their text: lines, chips and filters key on it (numbers and booleans come typed).
    async (src) => historyAsText(await s.api.get<HistoryResult>(`/api/labels/${src.id}/history?${src.q}`)),
  )
  // An errored resource throws when read (offline: "Failed to fetch"); the error is shown below.
  const latest = () => (range.error ? undefined : range.latest)
  const items = createMemo(() => filterHistory(latest()?.items ?? [], filter()))
  // Every value seen in the range, offered as filter chips.
  const allValues = createMemo(() =>
    [...new Set((latest()?.items ?? []).map((i) => i.value))]
      .sort((x, y) => x.localeCompare(y, undefined, { numeric: true }))
      .slice(0, 60),
  )
  createEffect(
    on(
      () => props.labelId,
      (id) =>
        s.live.onLabel(id, (m) => {
          if (m.type !== 'history') return
          const f = rangeFilter(filter())
          if (validRange(f) && !range.loading)
            mutate({ labelId: m.labelId, items: filterHistory(historyAsText(m).items, f) })
          else void refetch()
        }),
    ),
  )
  s.live.onReconnect(() => void refetch())
  const toggleValue = (v: string) =>
    set({ values: filter().values.includes(v) ? filter().values.filter((x) => x !== v) : [...filter().values, v] })
  const rows = createMemo(() =>
    [...items()].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : b.users - a.users)),
  )
  // The href has no token; a click downloads through a signed link (POST /api/links).
  const csvPath = () => `/api/labels/${props.labelId}/history?${historyQuery(filter(), 'csv')}`
  const { error: exportError, onClick: exportCsv } = csvExport(s.api, csvPath)
  return (
    <section class="card" data-testid="history-panel">
      <header class="card-head">
        <h3>Historical data</h3>
        <div class="controls">
          <label>
            From
            <input
              type="date"
              value={filter().from}
              max={filter().to || undefined}
              onChange={(e) => set({ from: e.currentTarget.value })}
              aria-invalid={rangeError() ? 'true' : undefined}
              aria-describedby={rangeError() ? 'history-range-error' : undefined}
              data-testid="history-from"
            />
          </label>
          <label>
            To
            <input
              type="date"
              value={filter().to}
              min={filter().from || undefined}
              onChange={(e) => set({ to: e.currentTarget.value })}
              aria-invalid={rangeError() ? 'true' : undefined}
              aria-describedby={rangeError() ? 'history-range-error' : undefined}
              data-testid="history-to"
            />
          </label>
          <Show when={rangeError()}>
            <span
              class="field-error inline-error"
              id="history-range-error"
              role="alert"
              data-testid="history-range-error"
            >
              {rangeError()}
            </span>
          </Show>
          <div class="seg" role="group" aria-label="Measure">
            <button
              type="button"
              classList={{ on: measure() === 'users' }}
              aria-pressed={measure() === 'users'}
              onClick={() => setMeasure('users')}
              data-testid="history-measure-users"
            >
              Users
            </button>
            <button
              type="button"
              classList={{ on: measure() === 'proportion' }}
              aria-pressed={measure() === 'proportion'}
              onClick={() => setMeasure('proportion')}
              title="Each value's share of all users that day"
              data-testid="history-measure-share"
            >
              Share of users
            </button>
          </div>
          <a
            class="btn small"
            classList={{ disabled: !online() }}
            href={online() ? csvPath() : undefined}
            onClick={exportCsv}
            aria-disabled={online() ? undefined : 'true'}
            title={needsServer('Exporting')}
            data-testid="history-export"
          >
            Export data
          </a>
        </div>
      </header>
      <Show when={(props.dataType === 'number' || props.dataType === 'date') && props.dataType}>
        {(t) => <BucketControl labelId={props.labelId} dataType={t()} onChange={() => void refetch()} />}
      </Show>
      <Show when={s.canEdit && props.canBackfill}>
        <BackfillControl labelId={props.labelId} />
      </Show>
      <Show when={allValues().length > 0}>
        <div class="chips" role="group" aria-label="Filter by value">
          <span class="hint">Values:</span>
          <For each={allValues()}>
            {(v) => (
              <button
                type="button"
                class="chip"
                classList={{ on: filter().values.includes(v) }}
                onClick={() => toggleValue(v)}
              >
                {v}
              </button>
            )}
          </For>
          <Show when={filter().values.length}>
            <button type="button" class="chip clear" onClick={() => set({ values: [] })}>
              clear
            </button>
          </Show>
        </div>
      </Show>
      <Show when={exportError()}>
        <p class="error" data-testid="history-export-error">
          {exportError()}
        </p>
      </Show>
      <Show when={range.error}>
        <p class="error">
          {online()
            ? `Could not load the history: ${String((range.error as Error).message)}`
            : 'The history needs the server: you are offline.'}
        </p>
      </Show>
      <Show when={!rangeError() && latest()}>
        <ChartMount
          testId="history-chart"
          render={(width) =>
            renderLines(items(), {
              width,
              height: Math.round(Math.min(420, Math.max(260, width * 0.36))),
              measure: measure(),
            })
          }
        />
        <details class="table-details">
          <summary>Table ({rows().length} rows)</summary>
          <table class="data">
            <thead>
              <tr>
                <th>Date</th>
                <th>Value</th>
                <th class="num">Users</th>
                <th class="num">Proportion</th>
              </tr>
            </thead>
            <tbody>
              <For each={rows().slice(0, 500)}>
                {(i) => (
                  <tr>
                    <td data-date={i.date}>{formatDate(i.date)}</td>
                    <td>{i.value}</td>
                    <td class="num">{count(i.users)}</td>
                    <td class="num">{percent(i.proportion)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </details>
      </Show>
    </section>
  )
}
