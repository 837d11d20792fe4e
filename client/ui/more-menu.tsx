import { DropdownMenu } from '@kobalte/core/dropdown-menu'
import { createSignal, For, type JSX } from 'solid-js'

export interface MenuItem {
  label: string
  action: () => void
  danger?: boolean
  /** Ask "Sure?" inside the menu before acting. */
  confirm?: string
  /** Why the item can't be used now (e.g. offline): shown greyed out with this as its tooltip. */
  disabled?: string | undefined
  testId?: string
}

/**
 * A "More" button with a dropdown (Kobalte's menu: arrow keys, Home/End, type-ahead, Escape,
 * focus back on the button; closes on an outside click).
 */
export function MoreMenu(props: {
  items: MenuItem[]
  title?: string
  testId?: string
  /**
   * Inside a tree whose rows open the menu with Shift+F10 (aria-keyshortcuts): the button is no Tab
   * stop and not part of the row's accessible name.
   */
  inTree?: boolean
  /** Where focus goes when the menu closes (the button's row, say); the button when not given. */
  onCloseFocus?: (e: Event) => void
}): JSX.Element {
  const [open, setOpen] = createSignal(false)
  const [confirming, setConfirming] = createSignal<MenuItem | null>(null)
  // The chosen action runs once the menu has closed and put focus back, so a dialog it opens keeps focus.
  let chosen: (() => void) | null = null
  const pick = (item: MenuItem) => {
    if (item.disabled) return
    if (item.confirm && confirming() !== item) {
      setConfirming(item)
      return
    }
    setConfirming(null)
    chosen = item.action
    setOpen(false) // a confirmed item does not close the menu by itself (closeOnSelect is off)
  }
  // Kobalte puts focus back on the button right after this handler: move it on from there.
  const afterClose = (e: Event) =>
    queueMicrotask(() => {
      props.onCloseFocus?.(e)
      const run = chosen
      chosen = null
      run?.()
    })
  return (
    <div class="more" onClick={(e) => e.stopPropagation()}>
      <DropdownMenu
        modal={false}
        open={open()}
        onOpenChange={(o) => {
          setOpen(o)
          if (!o) setConfirming(null)
        }}
        gutter={4}
        placement="bottom-end"
      >
        <DropdownMenu.Trigger
          class="icon-btn"
          title={props.title ?? 'More'}
          aria-label={props.title ?? 'More'}
          data-testid={props.testId}
          tabIndex={props.inTree ? -1 : 0}
          aria-hidden={props.inTree ? 'true' : undefined}
        >
          ⋯
        </DropdownMenu.Trigger>
        <DropdownMenu.Portal>
          <DropdownMenu.Content class="menu" aria-label={props.title ?? 'More'} onCloseAutoFocus={afterClose}>
            <For each={props.items}>
              {(item) => (
                <DropdownMenu.Item
                  class="menu-item"
                  classList={{ danger: !!item.danger, disabled: !!item.disabled }}
                  disabled={!!item.disabled}
                  title={item.disabled}
                  closeOnSelect={!item.confirm}
                  onSelect={() => pick(item)}
                  data-testid={item.testId}
                >
                  {confirming() === item ? item.confirm : item.label}
                </DropdownMenu.Item>
              )}
            </For>
          </DropdownMenu.Content>
        </DropdownMenu.Portal>
      </DropdownMenu>
    </div>
  )
}

/** Opens a MoreMenu from its button as the keyboard does (focus on the first item). */
export function openMoreMenu(trigger: HTMLElement): void {
  trigger.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }))
}
