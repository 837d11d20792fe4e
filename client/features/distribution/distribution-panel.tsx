import { createEffect, createResource, createSignal, For, on, Show, type JSX } from 'solid-js'
import type { Distribution } from '../../api/types.ts'
import { count, percent, toChartData, valueLabel } from '../../charts/chart-data.ts'
import { ChartMount } from '../../charts/chart-mount.tsx'
import { renderBars } from '../../charts/render-bars.ts'
import { renderDonut } from '../../charts/render-donut.ts'
import { csvExport } from '../../api/csv-export.ts'
import { useSession } from '../../session.tsx'
import { dateTimeTitle, formatDateTime } from '../../ui/format.ts'
import { Recover } from '../../ui/recover.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import {
  clampTop,
  defaultOptions,
  distributionQuery,
  fromPush,
  type DistributionOptions,
} from './distribution-options.ts'

/**
 * Renders a distribution as the chosen chart type at the width of its card (pure renderers;
 * also used by the preview). `width` fixes the width instead (tests, print).
 */
export function DistributionChart(props: {
  data: Distribution
  chart: DistributionOptions['chart']
  width?: number
  testId?: string
}): JSX.Element {
  return (
    <ChartMount
      testId={props.testId ?? 'distribution-chart'}
      render={(measured) => {
        const data = toChartData(props.data.items)
        const width = props.width ? Math.min(props.width, measured) : measured
        return props.chart === 'donut'
          ? renderDonut(data, { width })
          : renderBars(data, { orientation: props.chart, width })
      }}
    />
  )
}

/**
 * Label value distribution (seed "Label Value Distribution"): chart type, top N, sort,
 * bins/granularity, export, live. A run's success costs at most one read: the pushed
 * distribution is shown as is when it answers this panel's query, else re-read once.
 */
export function DistributionPanel(props: { labelId: string; dataType: DataType }): JSX.Element {
  // A failure inside (a malformed answer, a chart that cannot be drawn) replaces this card only;
  // Retry, or another label, starts it afresh (and reads again).
  return (
    <Recover resetKey={props.labelId} what="The value distribution">
      <Distribution_ labelId={props.labelId} dataType={props.dataType} />
    </Recover>
  )
}

function Distribution_(props: { labelId: string; dataType: DataType }): JSX.Element {
  const s = useSession()
  const [opts, setOpts] = createSignal<DistributionOptions>({ ...defaultOptions })
  const set = (p: Partial<DistributionOptions>) => setOpts((o) => ({ ...o, ...p }))
  const source = () => ({ id: props.labelId, q: distributionQuery(opts(), props.dataType) })
  const [dist, { refetch, mutate }] = createResource(source, (src) =>
    s.api.get<Distribution>(`/api/labels/${src.id}/distribution?${src.q}`),
  )
  const [live, setLive] = createSignal(0)
  createEffect(
    on(
      () => props.labelId,
      (id) =>
        s.live.onLabel(id, (m) => {
          if (m.type !== 'distribution') return
          setLive((n) => n + 1)
          const pushed = fromPush(m, opts(), props.dataType)
          // A read in flight started before the run finished and would land over the push: re-read instead.
          if (pushed && !dist.loading) mutate(pushed)
          else void refetch()
        }),
    ),
  )
  s.live.onReconnect(() => void refetch())
  // The href has no token (copying it gives nothing away); a click downloads through a signed link.
  const csvPath = () => `/api/labels/${props.labelId}/distribution?${distributionQuery(opts(), props.dataType, 'csv')}`
  const { error: exportError, onClick: exportCsv } = csvExport(s.api, csvPath)
  return (
    <section class="card" data-testid="distribution-panel">
      <header class="card-head">
        <h3>Value distribution</h3>
        <div class="controls">
          <div class="seg" role="group" aria-label="Chart type">
            <For each={['bar', 'column', 'donut'] as const}>
              {(c) => (
                <button
                  type="button"
                  classList={{ on: opts().chart === c }}
                  onClick={() => set({ chart: c })}
                  data-testid={`chart-${c}`}
                >
                  {c === 'bar' ? 'Bar' : c === 'column' ? 'Column' : 'Donut'}
                </button>
              )}
            </For>
          </div>
          <label>
            Top
            <input
              type="number"
              min="1"
              max="50"
              value={opts().top}
              onChange={(e) => set({ top: clampTop(Number(e.currentTarget.value)) })}
              data-testid="top-n"
            />
          </label>
          <label>
            Sort
            <select
              value={opts().sort}
              onChange={(e) => set({ sort: e.currentTarget.value as DistributionOptions['sort'] })}
              data-testid="sort"
            >
              <option value="users-desc">Users, most first</option>
              <option value="users-asc">Users, fewest first</option>
              <option value="value-asc">Value, ascending</option>
              <option value="value-desc">Value, descending</option>
            </select>
          </label>
          <Show when={props.dataType === 'number'}>
            <label>
              Bins
              <input
                type="number"
                min="0"
                max="50"
                value={opts().bins}
                title="0 = automatic"
                onChange={(e) => set({ bins: Math.max(0, Math.min(50, Number(e.currentTarget.value) || 0)) })}
              />
            </label>
          </Show>
          <Show when={props.dataType === 'date'}>
            <label>
              Per
              <select
                value={opts().granularity}
                onChange={(e) => set({ granularity: e.currentTarget.value as DistributionOptions['granularity'] })}
              >
                <option value="day">day</option>
                <option value="week">week</option>
                <option value="month">month</option>
              </select>
            </label>
          </Show>
          <a
            class="btn small"
            classList={{ disabled: !online() }}
            href={online() ? csvPath() : undefined}
            onClick={exportCsv}
            aria-disabled={online() ? undefined : 'true'}
            title={needsServer('Exporting')}
            data-testid="distribution-export"
          >
            Export data
          </a>
        </div>
      </header>
      <Show when={exportError()}>
        <p class="error" data-testid="distribution-export-error">
          {exportError()}
        </p>
      </Show>
      <Show when={dist.error}>
        <p class="error">
          {online()
            ? `Could not load the distribution: ${String((dist.error as Error).message)}`
            : 'The distribution needs the server: you are offline.'}
        </p>
      </Show>
      {/* An errored resource throws when read (offline: "Failed to fetch"); the error is shown above. */}
      <Show
        when={dist.error ? undefined : dist.latest}
        fallback={
          <Show when={!dist.error}>
            <p class="hint">Loading…</p>
          </Show>
        }
      >
        {(d) => (
          <>
            <p class="summary" data-testid="distribution-summary" data-live={live()}>
              <strong>{count(d().coveredUsers)}</strong> of {count(d().totalUsers)} users covered (
              {percent(d().totalUsers ? d().coveredUsers / d().totalUsers : 0)})
              <Show when={d().asOf}>
                {' '}
                · as of <time title={dateTimeTitle(d().asOf, s.me.tz)}>{formatDateTime(d().asOf, s.me.tz)}</time>
              </Show>
            </p>
            <DistributionChart data={d()} chart={opts().chart} />
            <details class="table-details">
              <summary>Table</summary>
              <table class="data">
                <thead>
                  <tr>
                    <th>Value</th>
                    <th class="num">Users</th>
                    <th class="num">Proportion</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={d().items}>
                    {(i) => (
                      <tr>
                        <td>{valueLabel(i.value)}</td>
                        <td class="num">{count(i.users)}</td>
                        <td class="num">{percent(i.proportion)}</td>
                      </tr>
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
