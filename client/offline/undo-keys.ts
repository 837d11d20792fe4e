import { onCleanup } from 'solid-js'
import type { Undo } from '../sync/undo.ts'

/** Where the browser's own text undo applies: a text field or an editable region. */
export function isTextEditing(el: EventTarget | null): boolean {
  if (!(el instanceof HTMLElement)) return false
  if (el.isContentEditable || el instanceof HTMLTextAreaElement) return true
  if (el instanceof HTMLInputElement)
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(el.type)
  return false
}

/**
 * Reactive: Ctrl/Cmd+Z undoes and Shift+Ctrl/Cmd+Z (or Ctrl+Y) redoes this operator's last
 * workspace edit, except while typing in a text field, where the keys keep their usual meaning
 * (the field's own text undo; a draft field's text then changes like any typing).
 */
export function createUndoKeys(undo: Undo, enabled: () => boolean): void {
  const onKey = (e: KeyboardEvent) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || isTextEditing(e.target) || !enabled()) return
    const k = e.key.toLowerCase()
    if (k === 'z' && !e.shiftKey) undo.undo()
    else if ((k === 'z' && e.shiftKey) || (k === 'y' && !e.shiftKey)) undo.redo()
    else return
    e.preventDefault()
  }
  document.addEventListener('keydown', onKey)
  onCleanup(() => document.removeEventListener('keydown', onKey))
}
