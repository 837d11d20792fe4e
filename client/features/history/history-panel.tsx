import { createEffect, createMemo, createResource, createSignal, For, on, Show, type JSX } from 'solid-js'
import type { HistoryResult } from '../../api/types.ts'
import { count, percent } from '../../charts/chart-data.ts'
import { ChartMount } from '../../charts/chart-mount.tsx'
import { renderLines } from '../../charts/render-lines.ts'
import { useSession } from '../../session.tsx'
import { daysAgo, historyQuery, type HistoryFilter } from './history-query.ts'

/** Historical data (seed "Historical Data"): lines per value over days, table, value/date filters, export, live. */
export function HistoryPanel(props: { labelId: string; refreshKey: number }): JSX.Element {
  const s = useSession()
  const [filter, setFilter] = createSignal<HistoryFilter>({ from: daysAgo(30), to: '', values: [] })
  const [measure, setMeasure] = createSignal<'users' | 'proportion'>('users')
  const set = (p: Partial<HistoryFilter>) => setFilter((f) => ({ ...f, ...p }))
  const [hist, { refetch }] = createResource(
    () => ({ id: props.labelId, q: historyQuery(filter()), k: props.refreshKey }),
    (src) => s.api.get<HistoryResult>(`/api/labels/${src.id}/history?${src.q}`),
  )
  // All values ever seen in the range (unfiltered by value) to offer as filter chips. The range
  // query is a memo (string equality) so toggling a value chip doesn't re-read the whole range.
  const rangeQuery = createMemo(() => historyQuery({ ...filter(), values: [] }))
  const [allValues] = createResource(
    () => ({ id: props.labelId, q: rangeQuery(), k: props.refreshKey }),
    async (src) => [...new Set((await s.api.get<HistoryResult>(`/api/labels/${src.id}/history?${src.q}`)).items.map((i) => i.value))].sort((x, y) => x.localeCompare(y, undefined, { numeric: true })).slice(0, 60),
  )
  createEffect(on(() => props.labelId, (id) => s.live.onLabel(id, (m) => m.type === 'history' && void refetch())))
  const toggleValue = (v: string) => set({ values: filter().values.includes(v) ? filter().values.filter((x) => x !== v) : [...filter().values, v] })
  const rows = createMemo(() => [...(hist.latest?.items ?? [])].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : b.users - a.users)))
  const csvUrl = () => s.api.downloadUrl(`/api/labels/${props.labelId}/history?${historyQuery(filter(), 'csv')}`)
  return (
    <section class="card" data-testid="history-panel">
      <header class="card-head">
        <h3>Historical data</h3>
        <div class="controls">
          <label>
            From
            <input type="date" value={filter().from} onChange={(e) => set({ from: e.currentTarget.value })} data-testid="history-from" />
          </label>
          <label>
            To
            <input type="date" value={filter().to} onChange={(e) => set({ to: e.currentTarget.value })} data-testid="history-to" />
          </label>
          <div class="seg" role="group" aria-label="Measure">
            <button type="button" classList={{ on: measure() === 'users' }} onClick={() => setMeasure('users')}>Users</button>
            <button type="button" classList={{ on: measure() === 'proportion' }} onClick={() => setMeasure('proportion')}>Share</button>
          </div>
          <a class="btn small" href={csvUrl()} download="" data-testid="history-export">
            Export data
          </a>
        </div>
      </header>
      <Show when={(allValues.latest ?? []).length > 0}>
        <div class="chips" aria-label="Filter by value">
          <span class="hint">Values:</span>
          <For each={allValues.latest}>
            {(v) => (
              <button type="button" class="chip" classList={{ on: filter().values.includes(v) }} onClick={() => toggleValue(v)}>
                {v}
              </button>
            )}
          </For>
          <Show when={filter().values.length}>
            <button type="button" class="chip clear" onClick={() => set({ values: [] })}>clear</button>
          </Show>
        </div>
      </Show>
      <Show when={hist.error}>
        <p class="error">Could not load the history: {String((hist.error as Error).message)}</p>
      </Show>
      <Show when={hist.latest}>
        {(h) => (
          <>
            <ChartMount testId="history-chart" render={() => renderLines(h().items, { width: 760, height: 260, measure: measure() })} />
            <details class="table-details">
              <summary>Table ({rows().length} rows)</summary>
              <table class="data">
                <thead>
                  <tr><th>Date</th><th>Value</th><th class="num">Users</th><th class="num">Proportion</th></tr>
                </thead>
                <tbody>
                  <For each={rows().slice(0, 500)}>
                    {(i) => (
                      <tr><td>{i.date}</td><td>{i.value}</td><td class="num">{count(i.users)}</td><td class="num">{percent(i.proportion)}</td></tr>
                    )}
                  </For>
                </tbody>
              </table>
            </details>
          </>
        )}
      </Show>
    </section>
  )
}
