import { createMemo, createSignal, For, Show, type JSX } from 'solid-js'
import { moveGroup } from '../../../shared/doc/group-operations.ts'
import { moveLabel } from '../../../shared/doc/label-operations.ts'
import { useSession } from '../../session.tsx'
import { Modal, ModalClose, ModalContent, ModalTitle } from '../../ui/modal.tsx'
import { groupDestinations, labelDestinations } from './tree-keys.ts'

export type MoveTarget = { kind: 'label' | 'group'; id: string }

/**
 * "Move to…": the keyboard's way to do what dragging a row does, with the same rules
 * (drop-plan.ts): the places a drag could put the label or group, as a radio group.
 */
export function MoveDialog(props: { target: MoveTarget; onClose: () => void; returnFocus: () => void }): JSX.Element {
  const s = useSession()
  const ws = s.workspace
  const what = () =>
    props.target.kind === 'label'
      ? ws.view.labels.find((l) => l.id === props.target.id)?.displayName
      : ws.view.groupsById[props.target.id]?.name
  const destinations = createMemo(() =>
    props.target.kind === 'label'
      ? labelDestinations(ws.view, props.target.id)
      : groupDestinations(ws.view, props.target.id),
  )
  const keyOf = (groupId: string | null) => groupId ?? 'top'
  const [choice, setChoice] = createSignal<string | null>(null)
  const chosen = () => destinations().find((d) => keyOf(d.groupId) === choice()) ?? destinations()[0]
  const move = (e: Event) => {
    e.preventDefault()
    const d = chosen()
    if (!d) return
    const { kind, id } = props.target
    const done =
      kind === 'label'
        ? ws.edit((doc, o) => moveLabel(doc, id, { groupId: d.groupId as string, index: d.index }, o))
        : ws.edit((doc, o) => moveGroup(doc, id, { parentId: d.groupId, index: d.index }, o))
    if (done) s.toasts.show('info', `Moved ${what() ?? kind} to ${d.name}`)
    props.onClose()
  }
  return (
    <Modal onClose={props.onClose}>
      <ModalContent
        class="modal small"
        data-testid="move-dialog"
        initialFocus="input:checked"
        returnFocus={props.returnFocus}
      >
        <div class="modal-head">
          <ModalTitle as="h2">
            Move {props.target.kind} “{what()}” to…
          </ModalTitle>
          <ModalClose class="icon-btn" aria-label="Close">
            ×
          </ModalClose>
        </div>
        <form class="move-form" onSubmit={move}>
          <Show
            when={destinations().length}
            fallback={
              <p class="hint" data-testid="move-none">
                There is nowhere else this {props.target.kind} can go (groups nest two levels deep).
              </p>
            }
          >
            <fieldset class="move-options">
              <legend>Destination</legend>
              <For each={destinations()}>
                {(d) => (
                  <label class="move-option">
                    <input
                      type="radio"
                      name="move-destination"
                      value={keyOf(d.groupId)}
                      checked={chosen() === d}
                      onChange={() => setChoice(keyOf(d.groupId))}
                      data-testid={`move-to-${keyOf(d.groupId)}`}
                    />{' '}
                    {d.name}
                  </label>
                )}
              </For>
            </fieldset>
          </Show>
          <div class="modal-foot">
            <button type="button" class="btn" onClick={() => props.onClose()}>
              Cancel
            </button>
            <button type="submit" class="btn primary" disabled={!chosen()} data-testid="move-confirm">
              Move
            </button>
          </div>
        </form>
      </ModalContent>
    </Modal>
  )
}
