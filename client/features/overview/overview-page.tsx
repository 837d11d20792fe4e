import { createEffect, createMemo, createSignal, For, on, onCleanup, onMount, Show, untrack, type JSX } from 'solid-js'
import { createStore } from 'solid-js/store'
import { moveLabel, updateLabel } from '../../../shared/doc/label-operations.ts'
import type { LabelView } from '../../api/types.ts'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import { createRowWindow } from '../../ui/row-window.ts'
import { dateTimeTitle, formatCount, formatDateTime, formatNumber, formatPercent } from '../../ui/format.ts'
import { planLabelDrop } from '../groups/drop-plan.ts'
import { methodNames } from '../labels/rule-text.ts'
import { EmptyWorkspace, isEmptyWorkspace } from './empty-workspace.tsx'
import {
  defaultQuery,
  formatDuration,
  groupPath,
  mergeListed,
  nextRunKey,
  overviewRows,
  runInfoStale,
  selectRows,
  withRun,
  type OverviewQuery,
  type OverviewRow,
  type RowCache,
  type RunInfo,
  type SortKey,
} from './overview-rows.ts'
import './overview.css'

const columns: ReadonlyArray<{ key: SortKey; text: string }> = [
  { key: 'name', text: 'Label' },
  { key: 'group', text: 'Group' },
  { key: 'method', text: 'Method' },
  { key: 'dataType', text: 'Type' },
  { key: 'schedule', text: 'Schedule' },
  { key: 'enabled', text: 'Status' },
  { key: 'state', text: 'Last run' },
  { key: 'lastAt', text: 'Ran at' },
  { key: 'durationMs', text: 'Took' },
  { key: 'coverage', text: 'Coverage' },
  { key: 'nextRunAt', text: 'Next run' },
]

/**
 * Up to this many rows the whole table of a small workspace is rendered; past it, and always past
 * LARGE_WORKSPACE labels (a filter narrowing thousands to 150 rows rendered them all), the rows in view.
 */
const RENDER_ALL_UP_TO = 200
const LARGE_WORKSPACE = 300
/** How long label changes are gathered before the run info is read again (ms). */
const REREAD_MS = 300
/** A row's height before one is measured (px). */
const OVERVIEW_ROW_PX = 37

/** Runs `fn` once the next frame has been produced (in the first task after it). */
const afterNextFrame = (fn: () => void) => requestAnimationFrame(() => setTimeout(fn, 0))

const stateWords: Record<OverviewRow['state'], string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  running: 'running',
  queued: 'queued',
  never: 'never run',
}

/**
 * The landing pane: every label in one sortable, filterable table (definition live from the
 * shared document, runs from GET /api/labels and the live channel's `runs:*`), with bulk enable,
 * disable, recalculate and move on the selected rows.
 */
export function OverviewPage(): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const tz = s.me.tz

  // Runs: read from GET /api/labels on opening, when the connection comes back, and when a label
  // appears or its schedule changes (its next run: `nextRunKey`), once for a burst of changes;
  // kept current meanwhile by the live channel. Other edits need no new read (issue 9, "Scale").
  const [info, setInfo] = createSignal<ReadonlyMap<string, RunInfo>>(new Map())
  /** id → nextRunKey the run info was read for (the document's when asked, the server's answer's). */
  let readFor: ReadonlyMap<string, string> = new Map()
  let reading = false
  let again = false
  /** Reads in a row whose answer still disagreed with the document (the server hadn't the edit yet). */
  let tries = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let disposed = false
  onCleanup(() => {
    disposed = true
    clearTimeout(timer)
  })
  const read = async () => {
    clearTimeout(timer)
    timer = undefined
    if (!online()) return
    if (reading) {
      again = true
      return
    }
    reading = true
    const asked = new Map(untrack(() => ws.labels().map((l) => [l.id, nextRunKey(l)] as const)))
    try {
      const l = await s.api.get<{ labels: LabelView[] }>('/api/labels')
      if (disposed) return
      for (const v of l.labels) asked.set(v.id, nextRunKey(v))
      readFor = asked
      setInfo((cur) => mergeListed(cur, l.labels))
    } catch (e) {
      if (!disposed && online()) s.toasts.show('error', `Could not read the labels' runs: ${(e as Error).message}`)
    } finally {
      reading = false
      // Changes made while reading, or an answer that missed one: read once more (a few times at most).
      const stale = runInfoStale(
        untrack(() => ws.labels()),
        readFor,
      )
      tries = stale ? tries + 1 : 0
      if (!disposed && (again || (stale && tries < 3))) {
        again = false
        readSoon(REREAD_MS)
      }
    }
  }
  const readSoon = (ms: number) => {
    clearTimeout(timer)
    timer = setTimeout(() => void read(), ms)
  }
  // First once there is a document (its rows) and it is on screen: before, the read would compete
  // with the document's first sync and its first frame, which the tree waits for (~2 MB each at
  // 5,000 labels, and ~0.3 s of the server's time that a 2-core machine shares with the page).
  createEffect(
    on(
      () => online() && ws.ready(),
      (go) => go && afterNextFrame(() => !disposed && void read()),
    ),
  )
  createEffect(() => {
    // Any label's change runs this again (ws.labels() is signalled for each).
    const labels = ws.labels()
    if (timer === undefined && !reading && runInfoStale(labels, readFor)) readSoon(REREAD_MS)
  })
  s.live.onRuns((m) => {
    if (m.type !== 'run') return
    setInfo((cur) => new Map(cur).set(m.run.labelId, withRun(cur.get(m.run.labelId), m.run)))
    // A finished scheduled run moves the next run: read it again, once for a burst of runs.
    if (m.run.status === 'succeeded' || m.run.status === 'failed') readSoon(500)
  })
  s.live.onReconnect(() => void read())

  // The table (its rows, filters and bulk actions: ~2,000 elements at 5,000 labels, ~0.15 s of
  // script, style and layout) is built in the first task after the frame that shows the document,
  // not in that frame: a large workspace's tree is then drawn without waiting for it (issue 9,
  // load → interactive tree). Until then the table reads "Loading…".
  const [tableOn, setTableOn] = createSignal(false)
  createEffect(on(ws.ready, (ready) => ready && afterNextFrame(() => !disposed && setTableOn(true))))

  const [query, setQuery] = createStore<OverviewQuery>({ ...defaultQuery })
  // Rows are values: a run message or an edit builds its label's row again (overviewRows keeps
  // the others), and only that row is rendered again, not every row of the table (thousands of labels).
  let cache: RowCache = new Map()
  const rows = createMemo(() => {
    if (!tableOn()) return []
    const r = overviewRows(ws.view, info(), cache, ws.labels())
    cache = r.cache
    return r.rows
  })
  const shown = createMemo(() => selectRows(rows(), { ...query }))
  const [selected, setSelected] = createSignal<ReadonlySet<string>>(new Set())
  // Only rows still shown count as selected (a filter or a deletion drops the others).
  const chosen = createMemo(() => shown().filter((r) => selected().has(r.id)))
  const toggle = (id: string, on: boolean) =>
    setSelected((cur) => {
      const next = new Set(cur)
      if (on) next.add(id)
      else next.delete(id)
      return next
    })
  // Only the rows in view are rendered (client/ui/row-window.ts); selection, sorting and bulk
  // actions work on `shown`, every matching label. Rows are one line each: their height is measured.
  const [rowPx, setRowPx] = createSignal(OVERVIEW_ROW_PX)
  const [scrolledX, setScrolledX] = createSignal(false)
  // Columns hidden past the right edge (a narrow window): the edge is shaded until scrolled to the end.
  const [moreRight, setMoreRight] = createSignal(false)
  const edges = (el: HTMLElement) => {
    setScrolledX(el.scrollLeft > 0)
    setMoreRight(el.scrollLeft + el.clientWidth < el.scrollWidth - 1)
  }
  // The pane resized, or the table widened (rows rendered, longer texts): edges measured again.
  const watchEdges = (el: HTMLDivElement) => {
    if (typeof ResizeObserver === 'undefined') return
    const watch = new ResizeObserver(() => edges(el))
    watch.observe(el)
    queueMicrotask(() => el.firstElementChild && watch.observe(el.firstElementChild))
    onCleanup(() => watch.disconnect())
  }
  const offsets = createMemo(() => {
    const h = rowPx()
    return Array.from({ length: shown().length + 1 }, (_, i) => i * h)
  })
  const win = createRowWindow({
    offsets,
    overscan: 600,
    allUpTo: () => (rows().length > LARGE_WORKSPACE ? 0 : RENDER_ALL_UP_TO),
  })
  const rendered = () => {
    const { start, end } = win.range()
    return shown().slice(start, end)
  }
  // One row is measured, once, when the next frame is laid out anyway: measuring every row as it
  // mounted forced a layout of the whole page in the middle of rendering it, and again after each
  // height correction (~0.1 s at the first sync of 5,000 labels, issue 9).
  let measuring = false
  const measureRow = (el: HTMLElement) => {
    if (measuring) return
    measuring = true
    onMount(() =>
      requestAnimationFrame(() => {
        const h = el.isConnected ? el.getBoundingClientRect().height : 0
        if (h > 0 && Math.abs(h - rowPx()) > 0.5) setRowPx(h)
        if (h === 0) measuring = false // not shown (yet): the next row mounted tries again
      }),
    )
  }
  const allChosen = () => shown().length > 0 && chosen().length === shown().length
  const sortBy = (k: SortKey) => {
    if (query.sort === k) setQuery('desc', !query.desc)
    else setQuery({ sort: k, desc: false })
  }

  const setEnabled = (enabled: boolean) => {
    const ids = chosen()
      .filter((r) => r.enabled !== enabled)
      .map((r) => r.id)
    if (!ids.length) return
    ws.edit((doc, o) => doc.transact(() => ids.forEach((id) => updateLabel(doc, id, { enabled }, o)), o))
    s.toasts.show(
      'info',
      `${enabled ? 'Enabled' : 'Disabled'} ${formatCount(ids.length)} label${ids.length > 1 ? 's' : ''}`,
    )
  }
  const recalculate = async () => {
    const list = chosen()
    const results = await Promise.allSettled(
      list.map((r) => s.api.send('POST', `/api/labels/${encodeURIComponent(r.id)}/calculate`, {})),
    )
    const failed = results.flatMap((x, i) => (x.status === 'rejected' ? [`${list[i]!.name}: ${String(x.reason)}`] : []))
    if (failed.length) s.toasts.show('error', `Could not queue ${failed.length}: ${failed.slice(0, 3).join('; ')}`)
    const ok = list.length - failed.length
    if (ok) s.toasts.show('info', `Queued ${formatCount(ok)} calculation${ok > 1 ? 's' : ''}`)
  }
  const [moveTo, setMoveTo] = createSignal('')
  const move = () => {
    const groupId = moveTo()
    const list = chosen()
    if (!groupId || !list.length) return
    // The rules of dropping a label on a group row (client/features/groups/drop-plan.ts).
    const refused = list.flatMap((r) => {
      const plan = planLabelDrop(ws.view, r.id, { kind: 'group', id: groupId })
      return plan.ok ? [] : [plan.reason]
    })
    if (refused.length) {
      s.toasts.show('error', `Can't move there: ${refused[0]}`)
      return
    }
    const ids = list.filter((r) => ws.view.labels.find((l) => l.id === r.id)?.groupId !== groupId).map((r) => r.id)
    ws.edit((doc, o) => doc.transact(() => ids.forEach((id) => moveLabel(doc, id, { groupId }, o)), o))
    s.toasts.show(
      'info',
      `Moved ${formatCount(ids.length)} label${ids.length === 1 ? '' : 's'} to ${groupPath(ws.view, groupId)}`,
    )
  }
  const groupsFlat = () =>
    ws.view.groups.flatMap((g) => [g, ...g.children]).map((g) => ({ id: g.id, name: groupPath(ws.view, g.id) }))
  const counts = createMemo(() => {
    const r = rows()
    return {
      failed: r.filter((x) => x.state === 'failed').length,
      busy: r.filter((x) => x.state === 'running' || x.state === 'queued').length,
      disabled: r.filter((x) => !x.enabled).length,
    }
  })
  const noData = () => isEmptyWorkspace(s.schema())

  return (
    <div class="overview" data-testid="overview">
      <header class="overview-head">
        <h2>Labels</h2>
        <p class="hint" data-testid="overview-counts">
          {formatCount(ws.labels().length)} labels in {formatCount(Object.keys(ws.view.groupsById).length)} groups
          <Show when={counts().failed}> · {formatCount(counts().failed)} failed</Show>
          <Show when={counts().busy}> · {formatCount(counts().busy)} calculating</Show>
          <Show when={counts().disabled}> · {formatCount(counts().disabled)} disabled</Show>
          {' · '}times in {tz}
        </p>
      </header>
      <Show when={noData()}>
        <EmptyWorkspace />
      </Show>
      <Show
        when={tableOn() && rows().length > 0}
        fallback={
          <div class="empty overview-empty" data-testid="overview-empty">
            <Show when={tableOn()} fallback="Loading…">
              <p>No labels yet.</p>
              <Show when={s.canEdit && !noData()}>
                <button type="button" class="btn primary" onClick={() => s.openEditor({})}>
                  + New label
                </button>
              </Show>
              <Show when={noData()}>
                <p>Load customer data first (above); then create labels from it.</p>
              </Show>
            </Show>
          </div>
        }
      >
        <div class="overview-filters">
          <input
            type="search"
            placeholder="Filter by name, display name or group"
            aria-label="Filter labels"
            value={query.text}
            onInput={(e) => setQuery('text', e.currentTarget.value)}
            data-testid="overview-filter"
          />
          <select
            aria-label="Creation method"
            value={query.method}
            onChange={(e) => setQuery('method', e.currentTarget.value)}
            data-testid="overview-method"
          >
            <option value="">all methods</option>
            <For each={Object.values(methodNames)}>{(m) => <option value={m}>{m}</option>}</For>
          </select>
          <select
            aria-label="Last run"
            value={query.state}
            onChange={(e) => setQuery('state', e.currentTarget.value as OverviewQuery['state'])}
            data-testid="overview-state"
          >
            <option value="">any last run</option>
            <For each={Object.entries(stateWords)}>{([k, w]) => <option value={k}>{w}</option>}</For>
          </select>
          <select
            aria-label="Status"
            value={query.enabled}
            onChange={(e) => setQuery('enabled', e.currentTarget.value as OverviewQuery['enabled'])}
            data-testid="overview-enabled"
          >
            <option value="">enabled and disabled</option>
            <option value="enabled">enabled</option>
            <option value="disabled">disabled</option>
          </select>
          <span class="hint" data-testid="overview-shown">
            {formatCount(shown().length)} shown
          </span>
        </div>
        <Show when={s.canEdit}>
          <div
            class="overview-bulk"
            role="toolbar"
            aria-label="Actions on the selected labels"
            data-testid="overview-bulk"
          >
            <span class="hint">{formatCount(chosen().length)} selected</span>
            <button
              type="button"
              class="btn small"
              disabled={!chosen().length}
              onClick={() => setEnabled(true)}
              data-testid="bulk-enable"
            >
              Enable
            </button>
            <button
              type="button"
              class="btn small"
              disabled={!chosen().length}
              onClick={() => setEnabled(false)}
              data-testid="bulk-disable"
            >
              Disable
            </button>
            <button
              type="button"
              class="btn small"
              disabled={!chosen().length || !online()}
              title={needsServer('Recalculating')}
              onClick={() => void recalculate()}
              data-testid="bulk-recalculate"
            >
              Recalculate
            </button>
            <select
              aria-label="Move to group"
              value={moveTo()}
              onChange={(e) => setMoveTo(e.currentTarget.value)}
              data-testid="bulk-group"
            >
              <option value="">Move to group…</option>
              <For each={groupsFlat()}>{(g) => <option value={g.id}>{g.name}</option>}</For>
            </select>
            <button
              type="button"
              class="btn small"
              disabled={!chosen().length || !moveTo()}
              onClick={move}
              data-testid="bulk-move"
            >
              Move
            </button>
          </div>
        </Show>
        {/* Wider than the pane below ~1950 px: it scrolls sideways, the label column stays (sticky), and the
            right edge is shaded while columns are hidden past it. */}
        <div class="overview-frame" classList={{ 'more-right': moreRight() }} data-testid="overview-frame">
          <div
            ref={watchEdges}
            class="overview-scroll"
            classList={{ scrolled: scrolledX() }}
            onScroll={(e) => edges(e.currentTarget)}
            data-testid="overview-scroll"
          >
            <table class="data overview-table" classList={{ 'with-check': s.canEdit }} data-testid="overview-table">
              <thead>
                <tr>
                  <Show when={s.canEdit}>
                    <th class="check">
                      <input
                        type="checkbox"
                        aria-label="Select all shown labels"
                        checked={allChosen()}
                        onChange={(e) =>
                          setSelected(e.currentTarget.checked ? new Set(shown().map((r) => r.id)) : new Set<string>())
                        }
                        data-testid="overview-select-all"
                      />
                    </th>
                  </Show>
                  <For each={columns}>
                    {(c) => (
                      <th
                        aria-sort={query.sort === c.key ? (query.desc ? 'descending' : 'ascending') : 'none'}
                        classList={{ name: c.key === 'name' }}
                        data-col={c.key}
                      >
                        <button type="button" class="sort" onClick={() => sortBy(c.key)} data-testid={`sort-${c.key}`}>
                          {c.text}
                          <span class="arrow" aria-hidden="true">
                            {query.sort === c.key ? (query.desc ? '▼' : '▲') : ''}
                          </span>
                        </button>
                      </th>
                    )}
                  </For>
                </tr>
              </thead>
              <tbody ref={win.attach} data-rows={shown().length}>
                <Show when={win.range().start > 0}>
                  <tr class="spacer" style={{ height: `${win.range().start * rowPx()}px` }} />
                </Show>
                <For
                  each={rendered()}
                  fallback={
                    <tr>
                      <td colspan={columns.length + 1} class="hint">
                        No label matches the filter.
                      </td>
                    </tr>
                  }
                >
                  {(r) => (
                    <tr
                      ref={measureRow}
                      data-testid={`overview-row-${r.name}`}
                      data-state={r.state}
                      data-run={r.runId ?? ''}
                      data-enabled={r.enabled}
                    >
                      <Show when={s.canEdit}>
                        <td class="check">
                          <input
                            type="checkbox"
                            aria-label={`Select ${r.displayName}`}
                            checked={selected().has(r.id)}
                            onChange={(e) => toggle(r.id, e.currentTarget.checked)}
                            data-testid="overview-select"
                          />
                        </td>
                      </Show>
                      <td class="name">
                        <a
                          href={`#/labels/${encodeURIComponent(r.id)}`}
                          onClick={(e) => {
                            e.preventDefault()
                            s.selectLabel(r.id)
                          }}
                          data-testid="overview-open"
                        >
                          {r.displayName}
                        </a>{' '}
                        <code class="label-name">{r.name}</code>
                      </td>
                      <td>{r.group}</td>
                      <td>{r.method}</td>
                      <td>{r.dataType}</td>
                      <td>{r.schedule}</td>
                      <td data-testid="cell-enabled">
                        {r.enabled ? <span class="badge ok">enabled</span> : <span class="badge muted">disabled</span>}
                      </td>
                      <td data-testid="cell-state">
                        <span class={`status ${r.state}`} title={r.error ?? ''}>
                          {stateWords[r.state]}
                        </span>
                      </td>
                      <td>
                        <time datetime={r.lastAt ?? undefined} title={dateTimeTitle(r.lastAt, tz)}>
                          {formatDateTime(r.lastAt, tz)}
                        </time>
                      </td>
                      <td class="num">{formatDuration(r.durationMs, formatNumber)}</td>
                      <td
                        class="num"
                        title={
                          r.covered ? `${formatCount(r.covered.users)} of ${formatCount(r.covered.total)} users` : ''
                        }
                      >
                        {r.coverage === null ? '—' : formatPercent(r.coverage)}
                      </td>
                      <td data-testid="cell-next">
                        {r.enabled ? (
                          <time datetime={r.nextRunAt ?? undefined} title={dateTimeTitle(r.nextRunAt, tz)}>
                            {formatDateTime(r.nextRunAt, tz)}
                          </time>
                        ) : (
                          'not scheduled'
                        )}
                      </td>
                    </tr>
                  )}
                </For>
                <Show when={win.range().end < shown().length}>
                  <tr class="spacer" style={{ height: `${(shown().length - win.range().end) * rowPx()}px` }} />
                </Show>
              </tbody>
            </table>
          </div>
        </div>
      </Show>
    </div>
  )
}
