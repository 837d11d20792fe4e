import { createMemo, createSignal, For, Show, type JSX } from 'solid-js'
import type { Comparison } from '../../../engine/api.ts'
import type { DataType } from '../../../shared/schemas/label.ts'
import type { Rule } from '../../../shared/schemas/rule.ts'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import { formatCount } from '../../ui/format.ts'
import { sideBySide, signed, valueLabel } from './compare-rows.ts'

/**
 * Before/after of a rule change, exact on the server's full data (POST /api/labels/:label/compare):
 * the label's current result distribution beside the given rule's, and the transition table —
 * how many customers go from each value to each other. Computed on demand (it reads every
 * customer): the button runs it, and a later change of the rule marks the result outdated.
 * Mount it next to Publish in the draft editor, or under a version to see what restoring does.
 */
export function BeforeAfter(props: { labelId: string; rule: Rule; dataType?: DataType; title?: string }): JSX.Element {
  const s = useSession()
  const [result, setResult] = createSignal<{ key: string; data: Comparison } | null>(null)
  const [busy, setBusy] = createSignal(false)
  const [error, setError] = createSignal<string | null>(null)
  const key = createMemo(() => JSON.stringify([props.labelId, props.dataType ?? null, props.rule]))
  const outdated = () => result() !== null && result()!.key !== key()
  const run = () => {
    const k = key()
    setBusy(true)
    setError(null)
    s.api
      .send<Comparison>('POST', `/api/labels/${props.labelId}/compare`, {
        rule: props.rule,
        ...(props.dataType ? { dataType: props.dataType } : {}),
      })
      .then(
        (data) => setResult({ key: k, data }),
        (e: Error) => setError(e.message),
      )
      .finally(() => setBusy(false))
  }
  const rows = () => (result() ? sideBySide(result()!.data) : [])
  return (
    <section class="card" data-testid="before-after">
      <header class="card-head">
        <h3>{props.title ?? 'Before / after'}</h3>
        <button
          type="button"
          class="btn small"
          onClick={run}
          disabled={busy() || !online()}
          title={needsServer('Comparing with the current results')}
          data-testid="compare-run"
        >
          {busy() ? 'Comparing…' : result() ? 'Compare again' : 'Compare with current results'}
        </button>
      </header>
      <p class="hint">
        Exact, on every customer: the current results beside this rule calculated now. Nothing is saved.
      </p>
      <Show when={error()}>
        {(e) => (
          <p class="hint degraded" data-testid="compare-error">
            {e()}
          </p>
        )}
      </Show>
      <Show when={result()}>
        {(r) => (
          <div data-testid="compare-result" data-outdated={outdated() ? 'true' : 'false'}>
            <Show when={outdated()}>
              <p class="hint degraded">The rule changed since this comparison: compare again.</p>
            </Show>
            <p data-testid="compare-summary">
              {formatCount(r().data.changedUsers)} of {formatCount(r().data.changedUsers + r().data.unchangedUsers)}{' '}
              customers change value
              <Show when={!r().data.current.runId}> (the label has no results yet: everyone starts from no value)</Show>
            </p>
            <div style={{ display: 'flex', gap: '24px', 'flex-wrap': 'wrap', 'align-items': 'flex-start' }}>
              <table class="data" style={{ width: 'auto', 'min-width': '320px' }} data-testid="compare-distributions">
                <thead>
                  <tr>
                    <th>Value</th>
                    <th>Current</th>
                    <th>After</th>
                    <th>Change</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={rows()}>
                    {(row) => (
                      <tr data-value={row.value}>
                        <td>{row.value}</td>
                        <td>{formatCount(row.current)}</td>
                        <td>{formatCount(row.draft)}</td>
                        <td
                          style={{ color: row.delta > 0 ? 'var(--ok)' : row.delta < 0 ? 'var(--danger)' : undefined }}
                        >
                          {signed(row.delta)}
                        </td>
                      </tr>
                    )}
                  </For>
                  <tr>
                    <td>covered</td>
                    <td>{formatCount(r().data.current.coveredUsers)}</td>
                    <td>{formatCount(r().data.draft.coveredUsers)}</td>
                    <td>{signed(r().data.draft.coveredUsers - r().data.current.coveredUsers)}</td>
                  </tr>
                </tbody>
              </table>
              <table class="data" style={{ width: 'auto', 'min-width': '320px' }} data-testid="compare-transitions">
                <thead>
                  <tr>
                    <th>From (current)</th>
                    <th />
                    <th>To (after)</th>
                    <th>Customers</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={r().data.transitions}>
                    {(t) => (
                      <tr
                        data-from={valueLabel(t.from)}
                        data-to={valueLabel(t.to)}
                        data-users={t.users}
                        style={{ opacity: valueLabel(t.from) === valueLabel(t.to) ? 0.6 : 1 }}
                      >
                        <td>{valueLabel(t.from)}</td>
                        <td>→</td>
                        <td>{valueLabel(t.to)}</td>
                        <td>{formatCount(t.users)}</td>
                      </tr>
                    )}
                  </For>
                  <Show when={r().data.otherTransitions.count > 0}>
                    <tr>
                      <td colSpan={3}>{r().data.otherTransitions.count} more moves</td>
                      <td>{formatCount(r().data.otherTransitions.users)}</td>
                    </tr>
                  </Show>
                </tbody>
              </table>
            </div>
          </div>
        )}
      </Show>
    </section>
  )
}
