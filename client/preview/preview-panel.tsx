import { createEffect, createMemo, createSignal, on, onCleanup, Show, type JSX } from 'solid-js'
import type { Distribution } from '../api/types.ts'
import { ApiError } from '../api/http.ts'
import { count, percent } from '../charts/chart-data.ts'
import { DistributionChart } from '../features/distribution/distribution-panel.tsx'
import { useSession } from '../session.tsx'
import { needsServer, online } from '../sync/connectivity.ts'
import { LabelsError } from '../../shared/errors.ts'
import type { DataType } from '../../shared/schemas/label.ts'
import type { Rule } from '../../shared/schemas/rule.ts'
import { makePreviewEngine, SAMPLE } from './make-preview-engine.ts'
import { makePreviewSchedule } from './preview-schedule.ts'

type Mode = 'sample' | 'server'
// `key` names the definition and data source the result answers for (keyOf).
type Ok = { kind: 'ok'; data: Distribution; ms: number; mode: Mode; key: string }
type Def = { dataType: DataType; rule: Rule }
const keyOf = (def: Def | null, m: Mode): string => `${m}:${JSON.stringify(def)}`
type State =
  | { kind: 'idle' }
  // While a new preview runs, the last result stays on screen (others typing would make it blink).
  | { kind: 'loading'; last: Ok | null }
  | Ok
  | { kind: 'error'; message: string; path?: string }

/**
 * Live rule preview while editing (docs/semantics.md#preview-and-compare): scheduled by
 * makePreviewSchedule (one's own edits debounced with a maximum wait, the other operators' edits
 * of the shared draft not restarting it; `ownEdits` counts this operator's edits of the rule, so
 * a change of `def` is known as one's own when it grew); in the browser on a sample of this
 * workspace's customers (PGlite in a worker running the same engine; the demo shop when the
 * sample can't be had, and the panel says so), or on the server's full data. Both in the
 * workspace time zone.
 */
export function PreviewPanel(props: {
  def: { dataType: DataType; rule: Rule } | null
  onPathError?: (path: string | null) => void
  ownEdits?: () => number
}): JSX.Element {
  const s = useSession()
  const [mode, setMode] = createSignal<Mode>('sample')
  const [state, setState] = createSignal<State>({ kind: 'idle' })
  const [sample, setSample] = createSignal<string>('loading a sample of this workspace’s customers…')
  // Set when the preview runs on something other than this workspace's customers.
  const [degraded, setDegraded] = createSignal(false)
  // Where the sample's load time went (LoadPhases), for the bench.
  const [phases, setPhases] = createSignal<string | undefined>()
  let engine: ReturnType<typeof makePreviewEngine>[0] | null = null
  const getEngine = () => {
    if (engine) return engine
    ;[engine] = makePreviewEngine(s.api.token) // kept for the page's lifetime; see makePreviewEngine
    const e = engine
    e.ready.then(
      async (r) => {
        setPhases(JSON.stringify(r.phases ?? {}))
        const took = `loaded in ${(r.ms / 1000).toFixed(1)} s`
        if (r.origin === 'workspace') {
          setSample(
            `sample: ${count(r.users)} of ${count(r.totalUsers)} customers, ${count(r.events)} events (${took}, seed ${SAMPLE.seed})`,
          )
          return
        }
        setDegraded(true)
        setSample(
          `workspace sample unavailable (${r.reason}): previewing on the demo shop, ${count(r.users)} generated customers, ${count(r.events)} events (${took})`,
        )
        // The demo shop has its own events: when this workspace's data has others, previews on
        // it would mislead (or fail validation), so switch to the server instead.
        const local = new Set((await e.remote.schema()).events.map((x) => x.name))
        const missing = (s.schema()?.events ?? []).filter((x) => !local.has(x.name)).map((x) => x.name)
        if (missing.length) {
          setSample(
            `workspace sample unavailable (${r.reason}), and the demo shop lacks this workspace's events ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? '…' : ''}: previewing on the server`,
          )
          setMode('server')
        }
      },
      (err: Error) => {
        setDegraded(true)
        setSample(`sample unavailable: ${err.message}`)
      },
    )
    return engine
  }
  let seq = 0
  const run = async (def: Def, m: Mode) => {
    const mine = ++seq
    const key = keyOf(def, m)
    const st = state()
    setState({ kind: 'loading', last: st.kind === 'ok' ? st : st.kind === 'loading' ? st.last : null })
    const query = { top: 10 }
    try {
      if (m === 'sample') {
        const out = await getEngine().remote.preview(def, { tz: s.me.tz, query })
        if (mine !== seq) return
        setState({ kind: 'ok', data: out.distribution, ms: out.ms, mode: m, key })
      } else {
        const t0 = performance.now()
        const data = await s.api.send<Distribution>('POST', '/api/preview', { ...def, query })
        if (mine !== seq) return
        setState({ kind: 'ok', data, ms: Math.round(performance.now() - t0), mode: m, key })
      }
    } catch (e) {
      if (mine !== seq) return
      const err = e as Error
      // The server's ApiError, or the preview worker's LabelsError: both carry the JSON path.
      const path = e instanceof ApiError || e instanceof LabelsError ? e.path : undefined
      setState({ kind: 'error', message: err.message, ...(path ? { path } : {}) })
    }
  }
  const [schedule, cancel] = makePreviewSchedule((job: { def: Def; m: Mode }) => run(job.def, job.m))
  onCleanup(cancel)
  let ownSeen = 0
  createEffect(
    on([() => JSON.stringify(props.def), mode], (_now, before) => {
      const def = props.def
      const m = mode()
      const own = props.ownEdits?.() ?? 0
      // One's own edit of the rule, or a switch of the data source here, as opposed to another operator's edit.
      const mine = own !== ownSeen || (before !== undefined && before[1] !== m)
      ownSeen = own
      if (!def) {
        schedule.clear()
        seq++ // a run in flight answers for a rule that is no longer there
        setState({ kind: 'idle' })
        return
      }
      if (m === 'sample') getEngine()
      schedule.change({ def, m }, mine)
    }),
  )
  // The result on screen answers for an older definition (or data source) while a run is in
  // flight or one waits for the typing to pause: shown dimmed, marked data-stale for tests.
  const stale = createMemo(() => {
    const st = state()
    if (st.kind === 'loading') return true
    return st.kind === 'ok' && st.key !== keyOf(props.def, mode())
  })
  createEffect(() => {
    const st = state()
    props.onPathError?.(st.kind === 'error' ? (st.path ?? null) : null)
  })
  return (
    <aside class="preview" data-testid="preview-panel">
      <header class="card-head">
        <h3>Preview</h3>
        <div class="seg" role="group" aria-label="Preview data">
          <button
            type="button"
            classList={{ on: mode() === 'sample' }}
            onClick={() => setMode('sample')}
            data-testid="preview-sample"
          >
            In browser (sample)
          </button>
          <button
            type="button"
            classList={{ on: mode() === 'server' }}
            disabled={!online()}
            title={needsServer('The exact preview on all data')}
            onClick={() => setMode('server')}
            data-testid="preview-server"
          >
            Server (all data)
          </button>
        </div>
      </header>
      <p
        class="hint"
        classList={{ degraded: mode() === 'sample' && degraded() }}
        data-testid="preview-source"
        data-phases={phases()}
      >
        {mode() === 'sample' ? sample() : 'full customer data on the server; nothing is stored'} · time zone {s.me.tz}
      </p>
      <Show when={stale()}>
        <p class="hint" data-testid="preview-calculating">
          calculating…
        </p>
      </Show>
      <Show
        when={(() => {
          const st = state()
          return st.kind === 'error' ? st : null
        })()}
      >
        {(e) => (
          <p class="error" data-testid="preview-error">
            {e().path ? <code>{e().path}</code> : null} {e().message}
          </p>
        )}
      </Show>
      <Show
        when={(() => {
          const st = state()
          return st.kind === 'ok' ? st : st.kind === 'loading' ? st.last : null
        })()}
      >
        {(ok) => (
          <>
            <p
              class="summary"
              data-testid="preview-summary"
              data-mode={ok().mode}
              classList={{ stale: stale() }}
              data-stale={stale() ? 'true' : 'false'}
            >
              <strong>{count(ok().data.coveredUsers)}</strong> of {count(ok().data.totalUsers)} covered (
              {percent(ok().data.totalUsers ? ok().data.coveredUsers / ok().data.totalUsers : 0)}) · {ok().ms} ms
            </p>
            <DistributionChart data={ok().data} chart="bar" width={420} testId="preview-chart" />
          </>
        )}
      </Show>
    </aside>
  )
}
