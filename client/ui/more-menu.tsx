import { createSignal, For, onCleanup, Show, type JSX } from 'solid-js'

export interface MenuItem {
  label: string
  action: () => void
  danger?: boolean
  /** Ask "Sure?" inside the menu before acting. */
  confirm?: string
  /** Why the item can't be used now (e.g. offline): shown greyed out with this as its tooltip. */
  disabled?: string | undefined
}

/** A "More" button with a small dropdown; closes on outside click or Escape. */
export function MoreMenu(props: { items: MenuItem[]; title?: string; testId?: string }): JSX.Element {
  const [open, setOpen] = createSignal(false)
  const [confirming, setConfirming] = createSignal<MenuItem | null>(null)
  let root: HTMLDivElement | undefined
  const close = () => {
    setOpen(false)
    setConfirming(null)
  }
  const onDoc = (e: MouseEvent) => {
    if (root && !root.contains(e.target as Node)) close()
  }
  const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close()
  document.addEventListener('mousedown', onDoc)
  document.addEventListener('keydown', onKey)
  onCleanup(() => {
    document.removeEventListener('mousedown', onDoc)
    document.removeEventListener('keydown', onKey)
  })
  const pick = (item: MenuItem) => {
    if (item.disabled) return
    if (item.confirm && confirming() !== item) {
      setConfirming(item)
      return
    }
    close()
    item.action()
  }
  return (
    <div class="more" ref={root} onClick={(e) => e.stopPropagation()}>
      <button
        type="button"
        class="icon-btn"
        title={props.title ?? 'More'}
        aria-label={props.title ?? 'More'}
        data-testid={props.testId}
        onClick={() => setOpen(!open())}
      >
        ⋯
      </button>
      <Show when={open()}>
        <ul class="menu" role="menu">
          <For each={props.items}>
            {(item) => (
              <li
                role="menuitem"
                classList={{ danger: !!item.danger, disabled: !!item.disabled }}
                aria-disabled={item.disabled ? 'true' : undefined}
                title={item.disabled}
                onClick={() => pick(item)}
              >
                {confirming() === item ? item.confirm : item.label}
              </li>
            )}
          </For>
        </ul>
      </Show>
    </div>
  )
}
