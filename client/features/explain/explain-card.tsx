import { createEffect, createSignal, For, Match, on, Show, Switch, type JSX } from 'solid-js'
import type {
  ExplainCondition,
  ExplainEvents,
  ExplainReason,
  ExplainTopValues,
  Explanation,
} from '../../../engine/read/explain-types.ts'
import {
  conditionText,
  eventsText,
  notesText,
  summaryText,
  valueText,
  type ExplainFormats,
} from '../../../engine/read/explain-words.ts'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import { formatDateTime, formatNumber } from '../../ui/format.ts'
import './explain.css'

/**
 * The page's one number and date-time format (client/ui/format.ts), times in the workspace zone
 * and named; the engine's plain ones are for the API's `text`.
 */
function useFormats(): ExplainFormats {
  const tz = useSession().me.tz
  return { number: (n) => formatNumber(n), time: (iso) => formatDateTime(iso, tz) }
}

/** One condition line with its ✓/✗, and under it the events it measured or its sub-conditions. */
function ConditionLine(props: { c: ExplainCondition }): JSX.Element {
  const formats = useFormats()
  const children = () => {
    const c = props.c
    return c.kind === 'all' || c.kind === 'any' ? c.items : c.kind === 'not' ? [c.item] : []
  }
  return (
    <li class={props.c.result ? 'xp-ok' : 'xp-no'} data-testid="explain-condition" data-result={String(props.c.result)}>
      <span class="xp-line">{conditionText(props.c, formats)}</span>
      <span class="sr-only">{props.c.result ? ' (holds)' : ' (does not hold)'}</span>
      <Show when={props.c.kind === 'behaviour' ? (props.c as Extract<ExplainCondition, { kind: 'behaviour' }>) : null}>
        {(b) => <div class="xp-sub">{eventsText(b().events, formats)}</div>}
      </Show>
      <Show when={children().length > 0}>
        <ul class="xp-tree">
          <For each={children()}>{(x) => <ConditionLine c={x} />}</For>
        </ul>
      </Show>
    </li>
  )
}

/** The events a measure read: count and time range, window, and the latest ones. */
function EventsFacts(props: { e: ExplainEvents }): JSX.Element {
  const formats = useFormats()
  return (
    <>
      <dt>Events</dt>
      <dd data-testid="explain-events">{eventsText(props.e, formats)}</dd>
      <dt>Window</dt>
      <dd>
        {props.e.from ? formats.time(props.e.from) : 'all time'} – {formats.time(props.e.to)} (end excluded)
      </dd>
      <Show when={props.e.recent.length > 0}>
        <dt>Latest events</dt>
        <dd>
          <ul class="xp-plain">
            <For each={props.e.recent}>
              {(r) => (
                <li>
                  {formats.time(r.time)}
                  <Show when={r.eventId}> · {r.eventId}</Show>
                </li>
              )}
            </For>
          </ul>
        </dd>
      </Show>
    </>
  )
}

function TopTable(props: { top: ExplainTopValues | null; caption?: string }): JSX.Element {
  const formats = useFormats()
  return (
    <Show when={props.top && props.top.values.length > 0 ? props.top : null}>
      {(t) => (
        <table class="data" data-testid="explain-top">
          <caption>
            {props.caption ?? `Most frequent ${t().property}`} ({formats.number(t().distinct)} distinct)
          </caption>
          <thead>
            <tr>
              <th scope="col">{t().property}</th>
              <th scope="col" class="num">
                events
              </th>
            </tr>
          </thead>
          <tbody>
            <For each={t().values}>
              {(v) => (
                <tr>
                  <td>{valueText(v.value, formats)}</td>
                  <td class="num">{formats.number(v.events)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      )}
    </Show>
  )
}

/** The reason, per creation method. */
function Reason(props: { r: ExplainReason }): JSX.Element {
  const formats = useFormats()
  const r = () => props.r
  const is = <M extends ExplainReason['method']>(m: M) =>
    r().method === m ? (r() as Extract<ExplainReason, { method: M }>) : null
  return (
    <Switch>
      <Match when={is('custom')}>
        {(c) => (
          <ol class="xp-layers" aria-label="Layers, first match wins">
            <For each={c().layers}>
              {(l) => (
                <li classList={{ 'xp-matched': c().matchedLayer === l.index }} data-testid="explain-layer">
                  <div class="xp-layer-head">
                    Layer {l.index + 1} → {valueText(l.value, formats)}{' '}
                    <Show
                      when={c().matchedLayer === l.index}
                      fallback={
                        <span class="badge muted">
                          {c().matchedLayer !== null && l.index > c().matchedLayer! ? 'not reached' : 'no match'}
                        </span>
                      }
                    >
                      <span class="badge ok">matched</span>
                    </Show>
                  </div>
                  <ul class="xp-tree">
                    <ConditionLine c={l.condition} />
                  </ul>
                </li>
              )}
            </For>
            <li classList={{ 'xp-matched': c().matchedLayer === null }} data-testid="explain-otherwise">
              <div class="xp-layer-head">
                Otherwise → {valueText(c().otherwise, formats)}{' '}
                <Show when={c().matchedLayer === null}>
                  <span class="badge ok">used</span>
                </Show>
              </div>
            </li>
          </ol>
        )}
      </Match>
      <Match when={is('metric') ?? is('distribution')}>
        {(m) => (
          <>
            <dl class="facts">
              <dt>Measure</dt>
              <dd data-testid="explain-measure">
                {m().measure} of {m().events.scope} = {valueText(m().measured, formats)}
              </dd>
              <Show
                when={
                  m().method === 'distribution' ? (m() as Extract<ExplainReason, { method: 'distribution' }>) : null
                }
              >
                {(d) => (
                  <>
                    <dt>Interval</dt>
                    <dd>
                      {d().bucket
                        ? `${valueText(d().bucket!.name, formats)}: ${d().bucket!.from === null ? '−∞' : formats.number(d().bucket!.from!)} ≤ ${formats.number(d().measured ?? 0)} < ${d().bucket!.to === null ? '+∞' : formats.number(d().bucket!.to!)}`
                        : 'no value to place'}
                    </dd>
                  </>
                )}
              </Show>
              <EventsFacts e={m().events} />
            </dl>
            <TopTable top={m().top} />
          </>
        )}
      </Match>
      <Match when={is('first_last')}>
        {(f) => (
          <>
            <dl class="facts">
              <dt>{f().which === 'last' ? 'Last event' : 'First event'}</dt>
              <dd data-testid="explain-picked">
                {f().picked
                  ? `${valueText(f().picked!.value, formats)} at ${formats.time(f().picked!.time)}${f().picked!.eventId ? ` (${f().picked!.eventId})` : ''}`
                  : 'none'}
              </dd>
              <EventsFacts e={f().events} />
            </dl>
            <TopTable top={f().top} />
          </>
        )}
      </Match>
      <Match when={is('preference')}>
        {(p) => (
          <>
            <dl class="facts">
              <dt>Ranking</dt>
              <dd>
                top {p().top} {p().property} by {p().by}
              </dd>
              <EventsFacts e={p().events} />
            </dl>
            <Show when={p().ranking.length > 0}>
              <table class="data" data-testid="explain-ranking">
                <caption>
                  {p().property} ranked by {p().by}
                </caption>
                <thead>
                  <tr>
                    <th scope="col" class="num">
                      rank
                    </th>
                    <th scope="col">{p().property}</th>
                    <th scope="col" class="num">
                      {p().by}
                    </th>
                    <th scope="col" class="num">
                      events
                    </th>
                    <th scope="col">in the value</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={p().ranking}>
                    {(v) => (
                      <tr>
                        <td class="num">{v.rank}</td>
                        <td>{valueText(v.value, formats)}</td>
                        <td class="num">{valueText(v.measure, formats)}</td>
                        <td class="num">{formats.number(v.events)}</td>
                        <td>{v.chosen ? '✓ yes' : 'no'}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </Show>
          </>
        )}
      </Match>
      <Match when={is('import')}>
        {(i) => (
          <dl class="facts">
            <dt>Results from</dt>
            <dd>
              {i().source
                ? `${i().source!.trigger === 'import' ? 'the import' : `a ${i().source!.trigger} run`} of ${i().source!.at ? formats.time(i().source!.at!) : '—'}`
                : 'no import yet'}
            </dd>
            <Show when={i().imports.length > 0}>
              <dt>Latest imports</dt>
              <dd>
                <ul class="xp-plain">
                  <For each={i().imports}>
                    {(m) => (
                      <li>
                        {m.at ? formats.time(m.at) : '—'} · {formats.number(m.coveredUsers ?? 0)} customers with a value
                      </li>
                    )}
                  </For>
                </ul>
              </dd>
            </Show>
          </dl>
        )}
      </Match>
    </Switch>
  )
}

/**
 * "Explain a customer" (issue 9): type a user_id, see the customer's value and why — the layer
 * and each condition's measured value, or the measure and the events behind it — computed by
 * the run's own rule for that customer (GET /api/labels/:label/explain/:userId).
 */
export function ExplainCard(props: { labelId: string }): JSX.Element {
  const s = useSession()
  const formats = useFormats()
  const [userId, setUserId] = createSignal('')
  const [busy, setBusy] = createSignal(false)
  const [result, setResult] = createSignal<Explanation | null>(null)
  const [error, setError] = createSignal<string | null>(null)
  let seq = 0
  // Another label: the answer belongs to the previous one.
  createEffect(
    on(
      () => props.labelId,
      () => {
        seq++
        setResult(null)
        setError(null)
        setBusy(false)
      },
      { defer: true },
    ),
  )
  const explain = (e: Event) => {
    e.preventDefault()
    const id = userId().trim()
    if (!id) {
      setError('Type a customer user_id.')
      return
    }
    const mine = ++seq
    setBusy(true)
    setError(null)
    s.api
      .get<Explanation>(`/api/labels/${encodeURIComponent(props.labelId)}/explain/${encodeURIComponent(id)}`)
      .then(
        (x) => {
          if (mine !== seq) return
          setResult(x)
        },
        (err: Error) => {
          if (mine !== seq) return
          setResult(null)
          setError(err.message)
        },
      )
      .finally(() => {
        if (mine === seq) setBusy(false)
      })
  }
  const inputId = `explain-user-${props.labelId}`
  return (
    <section class="card" data-testid="explain-card" aria-labelledby={`${inputId}-title`}>
      <header class="card-head">
        <h3 id={`${inputId}-title`}>Explain a customer</h3>
      </header>
      <form class="controls" onSubmit={explain}>
        <label for={inputId}>Customer user_id</label>
        <input
          id={inputId}
          type="text"
          autocomplete="off"
          spellcheck={false}
          maxLength={100}
          value={userId()}
          onInput={(e) => setUserId(e.currentTarget.value)}
          aria-describedby={`${inputId}-hint`}
          data-testid="explain-user"
        />
        <button type="submit" class="btn" disabled={busy() || !online()} title={needsServer('Explaining a value')}>
          {busy() ? 'Explaining…' : 'Explain'}
        </button>
      </form>
      <p class="hint" id={`${inputId}-hint`}>
        Shows the customer's value and why, computed by the label's rule for this customer as of its last run.
      </p>
      <div aria-live="polite" data-testid="explain-result">
        <Show when={error()}>
          {(msg) => (
            <p class="error" role="alert" data-testid="explain-error">
              {msg()}
            </p>
          )}
        </Show>
        <Show when={result()}>
          {(x) => (
            <div class="xp-result">
              <dl class="facts">
                <dt>Value</dt>
                <dd data-testid="explain-value">
                  <strong>{valueText(x().stored, formats)}</strong>
                  <Show when={!x().run}> (no run yet: nothing stored)</Show>
                </dd>
                <dt>Why</dt>
                <dd data-testid="explain-summary">{summaryText(x(), formats)}</dd>
                <dt>Calculated</dt>
                <dd>
                  {x().run
                    ? `as of ${formats.time(x().asOf)} (run ${x().run!.id}${x().run!.finishedAt ? `, finished ${formats.time(x().run!.finishedAt!)}` : ''})`
                    : `now (${formats.time(x().asOf)})`}
                </dd>
              </dl>
              <Show when={notesText(x(), formats).length > 0}>
                <ul class="xp-notes" data-testid="explain-notes">
                  <For each={notesText(x(), formats)}>{(n) => <li>{n}</li>}</For>
                </ul>
              </Show>
              <Reason r={x().reason} />
            </div>
          )}
        </Show>
      </div>
    </section>
  )
}
