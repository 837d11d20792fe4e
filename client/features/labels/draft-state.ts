import { createRoot, createSignal, type Accessor } from 'solid-js'
import type * as Y from 'yjs'
import { projectDrafts, type DraftsProjection } from '../../../shared/doc/drafts.ts'

const cache = new WeakMap<Y.Doc, Accessor<DraftsProjection>>()

/**
 * Reactive: the document's drafts (projectDrafts), re-projected once per microtask after any
 * update. One projection per document for the page's life, shared by the tree and the editor.
 */
export function draftsOf(doc: Y.Doc): Accessor<DraftsProjection> {
  const known = cache.get(doc)
  if (known) return known
  const accessor = createRoot(() => {
    const [p, setP] = createSignal(projectDrafts(doc), { equals: false })
    let scheduled = false
    doc.on('update', () => {
      if (scheduled) return
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
        setP(projectDrafts(doc))
      })
    })
    return p
  })
  cache.set(doc, accessor)
  return accessor
}

/** A path another operator took over from me: "bob overwrote your change to <field>". */
export interface Overwrite { path: string; by: string }

/**
 * Paths whose last writer was `me` before and is someone else now. Concurrent writes to one
 * value resolve the same way everywhere (Yjs), and the author is recorded with the value, so
 * the operator whose write lost sees the winner's name here.
 */
export function overwrites(before: Record<string, string>, after: Record<string, string>, me: string): Overwrite[] {
  const out: Overwrite[] = []
  for (const [path, by] of Object.entries(before)) {
    const now = after[path]
    if (by === me && now !== undefined && now !== me) out.push({ path, by: now })
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1))
}

const fieldNames: Record<string, string> = {
  name: 'Name', displayName: 'Display name', groupId: 'Group', dataType: 'Data type', labelType: 'Label type',
  schedule: 'Schedule', enabled: 'Enabled', description: 'Introduction', rule: 'Rule',
}

/** A readable name for a draft path: /rule/values/1/when/value → "Rule › layer 2 › when › value". */
export function describePath(path: string): string {
  const [field = '', ...rest] = path.split('/').slice(1)
  const parts = [fieldNames[field] ?? field]
  for (let i = 0; i < rest.length; i++) {
    const seg = rest[i] as string
    if (seg === 'values' && /^\d+$/.test(rest[i + 1] ?? '')) parts.push(`layer ${Number(rest[++i]) + 1}`)
    else if (/^\d+$/.test(seg)) parts.push(`#${Number(seg) + 1}`)
    else parts.push(seg)
  }
  return parts.join(' › ')
}

/** The JSON pointer of the draft field an element belongs to (its closest `data-field`). */
export function fieldOfElement(el: EventTarget | null): string | null {
  return el instanceof Element ? (el.closest('[data-field]')?.getAttribute('data-field') ?? null) : null
}
