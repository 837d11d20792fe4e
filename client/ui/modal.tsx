import { Dialog } from '@kobalte/core/dialog'
import { splitProps, type JSX } from 'solid-js'

/**
 * A modal dialog (Kobalte's Dialog, always open while mounted): Escape or a click outside calls
 * `onClose`; focus stays inside while it is open. Put a `ModalContent` in it.
 */
export function Modal(props: { onClose: () => void; children: JSX.Element }): JSX.Element {
  return (
    <Dialog open onOpenChange={(open) => !open && props.onClose()}>
      {props.children}
    </Dialog>
  )
}

/**
 * The dialog box, over a dimmed page. On open, focus goes to the first element matching
 * `initialFocus` (else the first focusable one); on close, back to `returnFocus()` when given,
 * else to the element that had focus when the dialog opened.
 */
export function ModalContent(
  props: {
    initialFocus?: string
    returnFocus?: () => void
    children: JSX.Element
  } & Omit<JSX.HTMLAttributes<HTMLDivElement>, 'ref'>,
): JSX.Element {
  const [local, rest] = splitProps(props, ['initialFocus', 'returnFocus', 'children'])
  const opener = document.activeElement as HTMLElement | null
  let content: HTMLDivElement | undefined
  return (
    <Dialog.Portal>
      <Dialog.Overlay class="modal-backdrop" />
      <div class="modal-place">
        <Dialog.Content
          {...rest}
          ref={content}
          onOpenAutoFocus={(e) => {
            const first = local.initialFocus ? content?.querySelector<HTMLElement>(local.initialFocus) : null
            if (first) {
              e.preventDefault()
              first.focus()
            }
          }}
          onCloseAutoFocus={(e) => {
            e.preventDefault()
            if (local.returnFocus) local.returnFocus()
            else if (opener?.isConnected) opener.focus()
          }}
          onInteractOutside={(e) => {
            // A click on a toast does not close the dialog.
            if ((e.target as Element | null)?.closest?.('.toasts')) e.preventDefault()
          }}
        >
          {local.children}
        </Dialog.Content>
      </div>
    </Dialog.Portal>
  )
}

/** The dialog's title (its accessible name) and close button, as a header row. */
export const ModalTitle = Dialog.Title
export const ModalClose = Dialog.CloseButton
