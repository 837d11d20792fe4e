import { createResource, createSignal, For, Show, type JSX } from 'solid-js'
import type { LabelVersion, VersionSummary } from '../../../engine/api.ts'
import { describeSchedule } from '../../../shared/schedule.ts'
import { useSession } from '../../session.tsx'
import { dateTimeTitle, formatDateTime } from '../../ui/format.ts'
import { needsServer, online } from '../../sync/connectivity.ts'
import { BeforeAfter } from '../compare/before-after.tsx'
import { dataTypeNames, labelTypeNames, methodNames, ruleText } from '../labels/rule-text.ts'
import { versionHeadline } from './version-words.ts'

/** One version opened: its whole definition, Restore as draft, and what restoring would do. */
function VersionView(props: { labelId: string; n: number; latest: number }): JSX.Element {
  const s = useSession()
  const [v] = createResource(
    () => ({ id: props.labelId, n: props.n }),
    (src) => s.api.get<LabelVersion>(`/api/labels/${src.id}/versions/${src.n}`),
  )
  const [restoring, setRestoring] = createSignal(false)
  const restore = (version: LabelVersion) => {
    // A version says what the label meant, not where it sat: the draft keeps the label's group.
    const { groupId: _g, ...definition } = version.definition
    setRestoring(true)
    s.api
      .send('POST', '/api/drafts', { labelId: props.labelId, definition })
      .then(
        () => {
          s.toasts.show('info', `Version ${version.n} restored as a draft: review it and publish`)
          s.openEditor({ labelId: props.labelId })
        },
        (e: Error) => s.toasts.show('error', e.message),
      )
      .finally(() => setRestoring(false))
  }
  return (
    <Show
      when={v.error ? undefined : v()}
      fallback={<p class="hint">{v.error ? String((v.error as Error).message) : 'Loading…'}</p>}
    >
      {(ver) => (
        <div
          class="version-view"
          data-testid="version-view"
          data-n={ver().n}
          style={{ 'border-left': '3px solid var(--line)', 'padding-left': '12px', margin: '8px 0 12px' }}
        >
          <dl class="facts">
            <dt>Name</dt>
            <dd>
              {ver().definition.displayName} <code class="label-name">{ver().definition.name}</code>
            </dd>
            <dt>Creation method</dt>
            <dd>{methodNames[ver().definition.rule.method]}</dd>
            <dt>Data type</dt>
            <dd>{dataTypeNames[ver().definition.dataType]}</dd>
            <dt>Label type</dt>
            <dd>{labelTypeNames[ver().definition.labelType]}</dd>
            <dt>Calculation mechanism</dt>
            <dd>{describeSchedule(ver().definition.schedule)}</dd>
            <dt>Status</dt>
            <dd>{ver().definition.enabled ? 'enabled' : 'disabled'}</dd>
            <dt>Label rule</dt>
            <dd>
              <ul class="rule-lines" data-testid="version-rule">
                <For each={ruleText(ver().definition.rule)}>{(line) => <li>{line}</li>}</For>
              </ul>
              <details>
                <summary>Rule JSON</summary>
                <pre class="json">{JSON.stringify(ver().definition.rule, null, 2)}</pre>
              </details>
            </dd>
            <Show when={ver().definition.description}>
              <dt>Introduction</dt>
              <dd class="desc">{ver().definition.description}</dd>
            </Show>
          </dl>
          <Show when={s.canEdit && ver().kind !== 'deleted'}>
            <div class="actions" style={{ margin: '8px 0' }}>
              <button
                type="button"
                class="btn small"
                disabled={restoring() || !online()}
                title={needsServer('Restoring a version')}
                onClick={() => restore(ver())}
                data-testid="version-restore"
              >
                Restore as draft
              </button>
              <Show when={ver().n === props.latest}>
                <span class="hint"> this is the current definition</span>
              </Show>
            </div>
            <Show when={ver().definition.rule.method !== 'import'}>
              <BeforeAfter
                labelId={props.labelId}
                rule={ver().definition.rule}
                dataType={ver().definition.dataType}
                title={`What restoring version ${ver().n} would do`}
              />
            </Show>
          </Show>
        </div>
      )}
    </Show>
  )
}

/**
 * The label's version history (GET /api/labels/:label/versions): who changed what and when,
 * as readable diffs, newest first. It re-reads whenever the label's definition changes in the
 * shared document (its updatedAt), from this page, another operator or the API.
 */
export function VersionsCard(props: { labelId: string }): JSX.Element {
  const s = useSession()
  const updatedAt = () => s.workspace.view.labels.find((l) => l.id === props.labelId)?.updatedAt
  const [list] = createResource(
    () => ({ id: props.labelId, updated: updatedAt() }),
    (src) => s.api.get<{ versions: VersionSummary[] }>(`/api/labels/${src.id}/versions`).then((r) => r.versions),
  )
  const [open, setOpen] = createSignal<number | null>(null)
  // An errored resource throws when read (offline: "Failed to fetch"); its error is shown instead.
  const listed = () => (list.error ? undefined : list.latest)
  const latest = () => listed()?.[0]?.n ?? 0
  return (
    <section class="card" data-testid="versions-card">
      <header class="card-head">
        <h3>Versions</h3>
        <span class="hint">{listed() ? `${listed()!.length} version${listed()!.length === 1 ? '' : 's'}` : ''}</span>
      </header>
      <Show when={list.error}>
        <p class="hint degraded">{String((list.error as Error).message)}</p>
      </Show>
      <ol class="versions" style={{ 'list-style': 'none', padding: 0, margin: 0 }}>
        <For each={listed() ?? []}>
          {(v) => (
            <li
              data-testid={`version-${v.n}`}
              data-kind={v.kind}
              style={{ 'border-bottom': '1px solid var(--line)', padding: '8px 0' }}
            >
              <div style={{ display: 'flex', gap: '8px', 'align-items': 'baseline', 'flex-wrap': 'wrap' }}>
                <strong>v{v.n}</strong>
                <span class="badge" classList={{ ok: v.kind === 'created', warn: v.kind === 'deleted' }}>
                  {v.kind}
                </span>
                <span data-testid="version-headline">{versionHeadline(v)}</span>
                <span class="hint" title={dateTimeTitle(v.at, s.me.tz)}>
                  {formatDateTime(v.at, s.me.tz)}
                </span>
                <button
                  type="button"
                  class="btn small"
                  style={{ 'margin-left': 'auto' }}
                  onClick={() => setOpen(open() === v.n ? null : v.n)}
                  data-testid={`version-open-${v.n}`}
                >
                  {open() === v.n ? 'Close' : 'View'}
                </button>
              </div>
              <Show when={v.kind !== 'baseline' && v.kind !== 'created' && v.changes.length > 0}>
                <ul
                  class="version-changes"
                  data-testid="version-changes"
                  style={{ margin: '4px 0 0', 'padding-left': '20px' }}
                >
                  <For each={v.changes}>{(c) => <li data-path={c.path}>{c.text}</li>}</For>
                </ul>
              </Show>
              <Show when={open() === v.n}>
                <VersionView labelId={props.labelId} n={v.n} latest={latest()} />
              </Show>
            </li>
          )}
        </For>
      </ol>
    </section>
  )
}
