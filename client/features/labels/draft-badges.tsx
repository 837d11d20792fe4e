import { createEffect, For, on, Show, type JSX } from 'solid-js'
import { replayLostDraftEdits } from '../../../shared/doc/draft-recovery.ts'
import { useSession } from '../../session.tsx'
import { draftStoreOf, draftsOf } from './draft-state.ts'

/** In the tree: marks a label that has an unpublished shared draft, and by whom. */
export function DraftBadge(props: { labelId: string; name: string }): JSX.Element {
  const s = useSession()
  // Fine-grained: a badge re-runs only when its own label's draft changes, not per draft edit anywhere.
  const drafts = draftStoreOf(s.workspace.doc)
  const draft = () => {
    const id = drafts.byLabel[props.labelId]
    return id ? drafts.byId[id] : undefined
  }
  return (
    <Show when={draft()}>
      {(d) => (
        <span
          class="badge draft"
          style={{ background: '#fef3c7', color: '#92400e' }}
          title={`Unpublished draft by ${d().editors.join(', ')}${d().changed.length ? ` — changed: ${d().changed.join(', ')}` : ''}`}
          data-testid={`draft-badge-${props.name}`}
        >
          ✎ draft · {d().editors.join(', ')}
        </span>
      )}
    </Show>
  )
}

/**
 * At the top of the tree: "New label" drafts (no label yet), each reopened with a click. It is
 * mounted once per page, so it also keeps this operator's draft edits when another operator
 * opened the same label's draft concurrently (e.g. one of them offline) and that map won:
 * this page writes its own edits again into the winner (shared/doc/draft-recovery.ts).
 */
export function NewLabelDrafts(): JSX.Element {
  const s = useSession()
  const drafts = draftsOf(s.workspace.doc)
  if (s.canEdit) {
    createEffect(
      on(drafts, (next, before) => {
        if (before) s.workspace.edit((doc, o) => replayLostDraftEdits(doc, before, next, o))
      }),
    )
  }
  const store = draftStoreOf(s.workspace.doc)
  const fresh = () =>
    Object.values(store.byId)
      .filter((d) => d.labelId === null)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
  return (
    <Show when={fresh().length}>
      <div class="new-label-drafts" data-testid="new-label-drafts">
        <div class="hint">New label drafts</div>
        <ul class="groups">
          <For each={fresh()}>
            {(d) => (
              <li
                class="label-row"
                onClick={() => s.openEditor({ draftId: d.id })}
                data-testid={`new-draft-${d.id}`}
                title={`Draft by ${d.editors.join(', ')}`}
              >
                <span class="label-text">
                  <span class="label-display">{d.definition.displayName || d.definition.name || 'Untitled label'}</span>
                  <code class="label-name">{d.editors.join(', ')}</code>
                </span>
                <span class="badge draft" style={{ background: '#fef3c7', color: '#92400e' }}>
                  ✎ draft
                </span>
              </li>
            )}
          </For>
        </ul>
      </div>
    </Show>
  )
}
