import { createRoot, createSignal, type Accessor } from 'solid-js'
import { createStore, reconcile } from 'solid-js/store'
import type * as Y from 'yjs'
import { projectDrafts, transactionScope, type DraftsProjection, type DraftView } from '../../../shared/doc/drafts.ts'
import { fieldNames } from './field-errors.ts'

/**
 * The drafts as a Solid store, for rendering: `byId[draftId]` is a store proxy that keeps its
 * identity across updates, and `byLabel[labelId]` holds the draft id. Each re-projection is
 * merged in (reconcile), so a remote keystroke in one layer value changes one store property and
 * re-runs only what reads it: the editor's other fields, its rows and the tree's badges stay as
 * they are (no rebuilt DOM, no per-update closures).
 */
export interface DraftStore {
  byId: Record<string, DraftView>
  byLabel: Record<string, string>
}

interface Reactive {
  projection: Accessor<DraftsProjection>
  store: DraftStore
}

const cache = new WeakMap<Y.Doc, Reactive>()

const storeShape = (p: DraftsProjection): DraftStore => ({
  byId: p.byId,
  byLabel: Object.fromEntries(Object.entries(p.byLabel).map(([label, d]) => [label, d.id])),
})

function reactive(doc: Y.Doc): Reactive {
  const known = cache.get(doc)
  if (known) return known
  const made = createRoot(() => {
    const first = projectDrafts(doc)
    const [projection, setProjection] = createSignal(first, { equals: false })
    // A deep copy: reconcile merges later projections into the store's own objects, never into a projection.
    const [store, setStore] = createStore<DraftStore>(structuredClone(storeShape(first)))
    let scheduled = false
    // One listener for the page's life (the document lives as long): projected once per microtask.
    // Only updates that touched the drafts (not tree edits, label edits or runs' writes).
    doc.on('update', (_u: Uint8Array, _o: unknown, _d: Y.Doc, tr: Y.Transaction) => {
      if (scheduled || !transactionScope(tr).drafts) return
      scheduled = true
      queueMicrotask(() => {
        scheduled = false
        const p = projectDrafts(doc)
        setStore(reconcile(structuredClone(storeShape(p)), { key: 'id', merge: true }))
        setProjection(p)
      })
    })
    return { projection, store }
  })
  cache.set(doc, made)
  return made
}

/**
 * Reactive: the document's drafts (projectDrafts, plain objects, a new one after every update),
 * re-projected once per microtask. For code that compares one projection with the next
 * (draft-recovery); rendering reads `draftStoreOf`.
 */
export function draftsOf(doc: Y.Doc): Accessor<DraftsProjection> {
  return reactive(doc).projection
}

/** Reactive, fine-grained: the drafts as a store (see DraftStore); one per document, shared by the tree and the editor. */
export function draftStoreOf(doc: Y.Doc): DraftStore {
  return reactive(doc).store
}

/** A path another operator took over from me: "bob overwrote your change to <field>". */
export interface Overwrite {
  path: string
  by: string
}

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
