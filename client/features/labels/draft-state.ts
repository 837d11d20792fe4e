import { batch, createRoot, createSignal, type Accessor } from 'solid-js'
import { createStore, reconcile } from 'solid-js/store'
import type * as Y from 'yjs'
import {
  draftsTouched,
  projectDrafts,
  reprojectDrafts,
  type DraftsProjection,
  type DraftView,
} from '../../../shared/doc/drafts.ts'
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

/**
 * How often, at most, other operators' draft edits are applied to the page (ms): what arrived
 * meanwhile is projected and rendered together, at the next animation frame. With 20 operators
 * typing into one draft a page gets ~90 edits a second; each rendered frame of the editor costs
 * a few ms of layout and paint, so rendering each one kept two pages' main threads saturated
 * (issue 8, bench/draft-page-cost.ts). One's own edits are applied at once (microtask).
 */
export const REMOTE_DRAFT_MS = 40

function reactive(doc: Y.Doc): Reactive {
  const known = cache.get(doc)
  if (known) return known
  const made = createRoot(() => {
    let current = projectDrafts(doc)
    const [projection, setProjection] = createSignal(current, { equals: false })
    // A deep copy: reconcile merges later projections into the store's own objects, never into a projection.
    const [store, setStore] = createStore<DraftStore>(structuredClone(storeShape(current)))
    // Drafts written since the last projection; only those are read again (reprojectDrafts).
    const touched = new Set<string>()
    let micro = false,
      frame: number | null = null,
      timer: ReturnType<typeof setTimeout> | null = null,
      last = 0
    const flush = () => {
      micro = false
      if (frame !== null) cancelAnimationFrame(frame)
      if (timer !== null) clearTimeout(timer)
      frame = timer = null
      if (touched.size === 0) return
      const ids = [...touched]
      touched.clear()
      last = performance.now()
      current = reprojectDrafts(doc, current, ids)
      const p = current
      batch(() => {
        for (const id of ids) {
          const d = p.byId[id]
          // A draft gone (published, discarded): setting undefined deletes the store's key.
          if (d) setStore('byId', id, reconcile(structuredClone(d), { key: 'id', merge: true }))
          else setStore('byId', id, undefined as unknown as DraftView)
        }
        setStore('byLabel', reconcile(storeShape(p).byLabel))
        setProjection(p)
      })
    }
    const soon = () => {
      if (micro) return
      micro = true
      queueMicrotask(flush)
    }
    // Other operators' edits: at the next animation frame, at most every REMOTE_DRAFT_MS; at once
    // (next microtask) when the page is hidden (no frames) or has no frames at all (tests in Node).
    const later = () => {
      if (micro || frame !== null || timer !== null) return
      if (typeof requestAnimationFrame !== 'function' || document.visibilityState !== 'visible') return soon()
      const wait = last + REMOTE_DRAFT_MS - performance.now()
      if (wait <= 0) frame = requestAnimationFrame(flush)
      else
        timer = setTimeout(() => {
          timer = null
          frame = requestAnimationFrame(flush)
        }, wait)
    }
    if (typeof document !== 'undefined')
      document.addEventListener('visibilitychange', () => document.visibilityState !== 'visible' && flush())
    // One listener for the page's life (the document lives as long). Only transactions that touched
    // the drafts (not tree edits, label edits or runs' writes), and only the drafts they touched.
    // 'afterTransaction', not 'update': no encoding of the server's updates (sync/server-updates.ts).
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      const ids = draftsTouched(tr)
      if (ids.size === 0) return
      for (const id of ids) touched.add(id)
      if (tr.local) soon()
      else later()
    })
    return { projection, store }
  })
  cache.set(doc, made)
  return made
}

/**
 * Reactive: the document's drafts (projectDrafts, plain objects, a new one after every update),
 * re-projected once per microtask after one's own edits, once per frame after others' edits. For code that compares one projection with the next
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
