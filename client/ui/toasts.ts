import { createSignal, type Accessor } from 'solid-js'

export interface Toast {
  id: number
  kind: 'error' | 'info'
  text: string
}

export interface Toasts {
  list: Accessor<Toast[]>
  show(kind: Toast['kind'], text: string): void
  dismiss(id: number): void
}

/** Reactive list of transient notices (errors of refused edits, confirmations), each gone after a few seconds. */
export function createToasts(ms = 5000): Toasts {
  const [list, setList] = createSignal<Toast[]>([])
  let next = 1
  const dismiss = (id: number) => setList((l) => l.filter((t) => t.id !== id))
  return {
    list,
    dismiss,
    show(kind, text) {
      const id = next++
      setList((l) => [...l.slice(-4), { id, kind, text }])
      setTimeout(() => dismiss(id), ms)
    },
  }
}
