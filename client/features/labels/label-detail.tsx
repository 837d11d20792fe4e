import { createEffect, createResource, createSignal, For, on, Show, type JSX } from 'solid-js'
import { describeSchedule } from '../../../shared/schedule.ts'
import type { LabelView, Run, SlowPlan } from '../../api/types.ts'
import { useSession } from '../../session.tsx'
import { needsServer, online } from '../../sync/connectivity.ts'
import { dateTimeTitle, formatCount, formatDateTime } from '../../ui/format.ts'
import { PresenceDots } from '../../ui/presence-dots.tsx'
import { DistributionPanel } from '../distribution/distribution-panel.tsx'
import { HistoryPanel } from '../history/history-panel.tsx'
import { VersionsCard } from '../versions/versions-card.tsx'
import { ExplainCard } from '../explain/explain-card.tsx'
import { ImportPanel } from './import-panel.tsx'
import { dataTypeNames, labelTypeNames, methodNames, ruleText } from './rule-text.ts'
import { computedText, formatDuration, phasesText, runLength, slowText } from './run-timing.ts'

/** An instant in the workspace time zone, named (client/ui/format.ts); the title adds the viewer's clock. */
function When(props: { at: string | null | undefined }): JSX.Element {
  const s = useSession()
  return <time title={dateTimeTitle(props.at, s.me.tz)}>{formatDateTime(props.at, s.me.tz)}</time>
}

function RunStatus(props: { run: Run | null }): JSX.Element {
  return (
    <Show when={props.run} fallback={<span class="status">never run</span>}>
      {(r) => (
        <span class={`status ${r().status}`} data-testid="run-status" title={r().error ?? ''}>
          {r().status}
          <Show when={r().finishedAt}>
            {' '}
            · <When at={r().finishedAt} />
          </Show>
          <Show when={r().status === 'succeeded' && r().coveredUsers !== null}>
            {' '}
            · {formatCount(r().coveredUsers ?? 0)} of {formatCount(r().totalUsers ?? 0)} users
          </Show>
          <Show when={r().status === 'succeeded' ? runLength(r()) : null}>
            {(ms) => (
              <>
                {' · '}
                <span
                  data-testid="run-length"
                  title={[r().timings ? phasesText(r().timings!) : '', computedText(r()) ?? '']
                    .filter(Boolean)
                    .join(' — ')}
                >
                  took {formatDuration(ms())}
                </span>
              </>
            )}
          </Show>
          <Show when={r().error}> · {r().error}</Show>
          <Show when={r().slow}>{(slow) => <SlowRun runId={r().id} text={slowText(slow())} />}</Show>
        </span>
      )}
    </Show>
  )
}

/**
 * A run the engine marked slow (a statement ten times its phase in the label's previous run):
 * the mark, and on request the statement's plan (GET /api/runs/:runId/plan).
 */
function SlowRun(props: { runId: string; text: string }): JSX.Element {
  const s = useSession()
  const [open, setOpen] = createSignal(false)
  const [plan] = createResource(
    () => (open() ? props.runId : null),
    (id) => s.api.get<SlowPlan>(`/api/runs/${encodeURIComponent(id)}/plan`),
  )
  return (
    <span class="slow-run">
      {' '}
      <button
        type="button"
        class="badge warn"
        data-testid="run-slow"
        title={props.text}
        aria-expanded={open()}
        onClick={() => setOpen(!open())}
      >
        slow
      </button>
      <Show when={open()}>
        <span class="slow-plan" data-testid="run-plan" role="note">
          <span>{props.text}</span>
          <Show when={!plan.error} fallback={<span class="status failed">{(plan.error as Error)?.message}</span>}>
            <Show when={plan()} fallback={<span>Reading its plan…</span>}>
              {(p) => (
                <pre class="json" data-testid="run-plan-text">
                  {p().plan ?? 'EXPLAIN does not take this statement.'}
                </pre>
              )}
            </Show>
          </Show>
        </span>
      </Show>
    </span>
  )
}

/**
 * One label: basic information (seed "Basic Label Information") read live from the shared
 * document, its last/next run from the API (updated by live run messages), then its
 * distribution and history.
 */
export function LabelDetail(props: { labelId: string }): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const label = () => ws.view.labels.find((l) => l.id === props.labelId)
  const [info, { refetch, mutate }] = createResource(
    () => ({ id: props.labelId, updated: label()?.updatedAt }),
    (src) => s.api.get<LabelView>(`/api/labels/${src.id}`).catch(() => null),
  )
  createEffect(
    on(
      () => props.labelId,
      (id) =>
        s.live.onLabel(id, (m) => {
          if (m.type !== 'run') return
          const cur = info.latest
          if (cur) mutate({ ...cur, lastRun: m.run })
          // The next run time may have moved. The distribution and history panels update from
          // their own pushes, which follow this message; they must not be read here as well.
          if (m.run.status === 'succeeded') void refetch()
        }),
    ),
  )
  const recalc = () =>
    void s.api.send<{ runId: string }>('POST', `/api/labels/${props.labelId}/calculate`, {}).then(
      () => s.toasts.show('info', 'Calculation queued'),
      (e: Error) => s.toasts.show('error', e.message),
    )
  const remove = () => {
    if (!confirm('Delete this label, its results and its history?')) return
    void s.api.send('DELETE', `/api/labels/${props.labelId}`).then(
      () => {
        s.selectLabel(null)
        s.toasts.show('info', 'Label deleted')
      },
      (e: Error) => s.toasts.show('error', e.message),
    )
  }
  return (
    <Show when={label()} fallback={<div class="empty">This label no longer exists.</div>}>
      {(l) => (
        <div class="detail" data-testid="label-detail">
          <header class="detail-head">
            <div>
              <div class="crumbs">{ws.view.groupsById[l().groupId]?.name ?? 'Default'}</div>
              <h2>
                {l().displayName} <code class="label-name">{l().name}</code>
                <Show when={l().nameConflict}>
                  {' '}
                  <span class="badge warn">duplicate name</span>
                </Show>
              </h2>
              <PresenceDots peers={ws.presence.busyWith('label', l().id)} />
            </div>
            <Show when={s.canEdit}>
              <div class="actions">
                <button
                  type="button"
                  class="btn"
                  onClick={() => s.openEditor({ labelId: l().id })}
                  data-testid="edit-label"
                >
                  Edit
                </button>
                <button
                  type="button"
                  class="btn"
                  onClick={recalc}
                  disabled={!online()}
                  title={needsServer('Recalculating')}
                  data-testid="recalculate"
                >
                  Recalculate
                </button>
                <button
                  type="button"
                  class="btn danger"
                  onClick={remove}
                  disabled={!online()}
                  title={needsServer('Deleting a label')}
                >
                  Delete
                </button>
              </div>
            </Show>
          </header>
          <section class="card">
            <header class="card-head">
              <h3>Basic information</h3>
            </header>
            <dl class="facts">
              <dt>Creation method</dt>
              <dd data-testid="fact-method">{methodNames[l().rule.method]}</dd>
              <dt>Data type</dt>
              <dd>{dataTypeNames[l().dataType]}</dd>
              <dt>Label type</dt>
              <dd>{labelTypeNames[l().labelType]}</dd>
              <dt>Calculation mechanism</dt>
              <dd>
                <span data-testid="fact-schedule">{describeSchedule(l().schedule)}</span>
                <Show when={l().schedule.kind !== 'once'}>
                  {' '}
                  <span class="tz" data-testid="fact-schedule-tz">
                    ({s.me.tz} time)
                  </span>
                </Show>
              </dd>
              <dt>Status</dt>
              <dd>{l().enabled ? <span class="badge ok">enabled</span> : <span class="badge muted">disabled</span>}</dd>
              <dt>Last run</dt>
              <dd>
                <RunStatus run={info.latest?.lastRun ?? null} />
              </dd>
              <dt>Next run</dt>
              <dd data-testid="fact-next-run">
                {l().enabled ? <When at={info.latest?.nextRunAt} /> : 'not scheduled (disabled)'}
              </dd>
              <dt>Label rule</dt>
              <dd>
                <ul class="rule-lines">
                  <For each={ruleText(l().rule)}>{(line) => <li>{line}</li>}</For>
                </ul>
                <details>
                  <summary>Rule JSON</summary>
                  <pre class="json">{JSON.stringify(l().rule, null, 2)}</pre>
                </details>
              </dd>
              <Show when={l().description}>
                <dt>Introduction</dt>
                <dd class="desc">{l().description}</dd>
              </Show>
            </dl>
          </section>
          <Show when={s.canEdit && l().rule.method === 'import'}>
            <ImportPanel labelId={l().id} dataType={l().dataType} />
          </Show>
          <DistributionPanel labelId={l().id} dataType={l().dataType} />
          <HistoryPanel labelId={l().id} dataType={l().dataType} canBackfill={l().rule.method !== 'import'} />
          <ExplainCard labelId={l().id} />
          <VersionsCard labelId={l().id} />
        </div>
      )}
    </Show>
  )
}
