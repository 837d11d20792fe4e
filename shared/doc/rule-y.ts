import * as Y from 'yjs'
import { badRequest } from '../errors.ts'
import { isOrderKey, keysBetween, placeAt } from './fractional-index.ts'

/**
 * JSON ⇄ nested Yjs types, so a draft's rule (and schedule) merge at the granularity people
 * edit them: objects are Y.Maps (last writer wins per key), arrays are Y.Arrays whose object
 * elements are Y.Maps and whose other elements (numbers, strings, nested arrays) are boxed in a
 * one-key "cell" map `{ $cell: value }`, so changing boundary 2 sets one cell instead of
 * deleting and re-inserting it (two operators changing the same boundary then resolve like any
 * scalar, instead of leaving both values in the list).
 *
 * Order: Yjs has no move (an item's place in a Y.Array is fixed when it is inserted), so every
 * list element (a map: an object or a cell) carries a fractional order key `~ord`
 * (fractional-index.ts) and a list reads in (key, place in the Y.Array) order. Moving an element
 * rewrites only its key: two concurrent moves of one element resolve last-writer-wins (one copy),
 * and a concurrent edit inside the moved element survives. An element without a key (lists
 * stored before keys existed, raw writes) sorts with the key of the element before it in the
 * Y.Array ('' at the start), so a list stored without keys reads in its stored order; the first
 * insert or move in such a list gives its keyless elements keys (the same keys on every replica
 * that does it from the same state).
 *
 * Authorship: a map records who created it under `~by`, and who last wrote each key under
 * `~by:<key>`, in the same map and the same transaction as the value, so the winner of a key
 * and the name shown as its author are always the same write. Keys starting with `~by` are
 * metadata and never part of the JSON.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export const CELL = '$cell'
const BY = '~by'
/** A list element's order key. */
export const ORD = '~ord'
const byKey = (k: string) => `${BY}:${k}`
const isMeta = (k: string) => k === BY || k === ORD || k.startsWith(`${BY}:`)

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Y.AbstractType)

const isCell = (m: Y.Map<unknown>) => m.has(CELL)

/** Deep equality of two JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    return a.every((x, i) => jsonEqual(x, b[i]))
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => jsonEqual(a[k], b[k]))
  }
  return false
}

/** The plain JSON a Yjs value stands for; anything foreign (raw junk, Y.Text…) reads as null. */
export function fromY(v: unknown): Json {
  if (v instanceof Y.Map) {
    const m = v as Y.Map<unknown>
    if (isCell(m)) return fromY(m.get(CELL))
    const out: Record<string, Json> = {}
    for (const k of [...m.keys()].sort()) if (!isMeta(k)) out[k] = fromY(m.get(k))
    return out
  }
  if (v instanceof Y.Array) return listView(v as Y.Array<unknown>).map((e) => fromY(e.el))
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (isPlainObject(v) || Array.isArray(v)) return JSON.parse(JSON.stringify(v)) as Json // a raw write of plain JSON
  return null
}

/** A fresh Yjs value for a JSON value (objects → Y.Map stamped with its creator, arrays → Y.Array). */
export function toY(v: unknown, actor: string): unknown {
  if (Array.isArray(v)) {
    const a = new Y.Array<unknown>()
    const keys = keysBetween(null, null, v.length)
    a.insert(
      0,
      v.map((x, i) => element(x, actor, keys[i] as string)),
    )
    return a
  }
  if (isPlainObject(v)) {
    const m = new Y.Map<unknown>()
    m.set(BY, actor)
    for (const [k, x] of Object.entries(v)) if (x !== undefined && !isMeta(k)) m.set(k, toY(x, actor))
    return m
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return null
  return v === undefined ? null : v
}

/** A list element for a JSON value at order key `ord`: a map (objects) or a cell (anything else). */
function element(v: unknown, actor: string, ord: string): Y.Map<unknown> {
  let m: Y.Map<unknown>
  if (isPlainObject(v)) m = toY(v, actor) as Y.Map<unknown>
  else {
    m = new Y.Map<unknown>()
    m.set(CELL, toY(v, actor))
    m.set(BY, actor)
  }
  m.set(ORD, ord)
  return m
}

/** One element of a list in reading order: `pos` is its place in the Y.Array, `order` its (effective) key. */
type Entry = { el: unknown; pos: number; order: string; own: boolean; id: string }

const ownKey = (el: unknown): string | null => {
  const k = el instanceof Y.Map ? (el as Y.Map<unknown>).get(ORD) : undefined
  return isOrderKey(k) ? k : null
}

/** The elements of a list in reading order: order key, then place in the Y.Array (deterministic on every replica). */
export function listView(arr: Y.Array<unknown>): Entry[] {
  let last = ''
  const out = arr.toArray().map((el, pos): Entry => {
    const k = ownKey(el)
    if (k !== null) last = k
    return { el, pos, order: last, own: k !== null, id: String(pos) }
  })
  return out.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : a.pos - b.pos))
}

/**
 * Gives every keyless element of a list a key that keeps the current reading order: a run of
 * keyless elements gets keys between its keyed neighbours (the whole list is re-keyed when they
 * can't be split). Returns the reading order after it. Inside the caller's transaction.
 */
function keyed(arr: Y.Array<unknown>): Entry[] {
  const view = listView(arr)
  const maps = view.filter((e) => e.el instanceof Y.Map)
  if (maps.every((e) => e.own)) return view
  const set = (e: Entry, k: string) => {
    ;(e.el as Y.Map<unknown>).set(ORD, k)
    e.order = k
    e.own = true
  }
  let i = 0
  while (i < maps.length) {
    if ((maps[i] as Entry).own) {
      i++
      continue
    }
    let j = i
    while (j < maps.length && !(maps[j] as Entry).own) j++
    const prev = i > 0 ? (maps[i - 1] as Entry).order : null
    const next = j < maps.length ? (maps[j] as Entry).order : null
    if (prev !== null && next !== null && prev >= next) {
      const all = keysBetween(null, null, maps.length)
      maps.forEach((e, n) => set(e, all[n] as string))
      return listView(arr)
    }
    const keys = keysBetween(prev, next, j - i)
    for (let n = i; n < j; n++) set(maps[n] as Entry, keys[n - i] as string)
    i = j
  }
  return listView(arr)
}

/**
 * Gives every keyless list element under `node` a key (see `keyed`), without changing what any
 * list reads as; true when it wrote anything. The server does this once for a document stored
 * before lists had keys, so operators' first moves don't race to key the same list.
 */
export function keyLists(node: unknown): boolean {
  let wrote = false
  if (node instanceof Y.Map) for (const v of (node as Y.Map<unknown>).values()) wrote = keyLists(v) || wrote
  else if (node instanceof Y.Array) {
    const arr = node as Y.Array<unknown>
    if (arr.toArray().some((el) => el instanceof Y.Map && ownKey(el) === null)) {
      keyed(arr)
      wrote = true
    }
    for (const el of arr.toArray()) wrote = keyLists(el) || wrote
  }
  return wrote
}

/** Keys for `count` new elements at reading position `index` of a list (re-keying neighbours that can't be split). */
function keysAt(view: Entry[], index: number, count: number): string[] {
  const { keys, rekey } = placeAt(view, index, count)
  for (const e of view) {
    const k = rekey.get(e.id)
    if (k !== undefined && e.el instanceof Y.Map) (e.el as Y.Map<unknown>).set(ORD, k)
  }
  return keys
}

/** Inserts new elements at reading position `index`, placed in the Y.Array right after their predecessor. */
function insertElements(arr: Y.Array<unknown>, index: number, values: unknown[], actor: string): void {
  const view = keyed(arr)
  const keys = keysAt(view, index, values.length)
  const pos = index > 0 ? (view[index - 1] as Entry).pos + 1 : 0
  arr.insert(
    pos,
    values.map((x, i) => element(x, actor, keys[i] as string)),
  )
}

/** Deletes the elements at reading positions `from`..`to` (exclusive). */
function deleteElements(arr: Y.Array<unknown>, from: number, to: number): void {
  const positions = listView(arr)
    .slice(from, to)
    .map((e) => e.pos)
    .sort((a, b) => b - a)
  for (const p of positions) arr.delete(p, 1)
}

/**
 * Whether `next` is an edit of `cur` (patched key by key) rather than a different thing
 * (replaced whole): a new creation method or aggregation, or a variant switch that both drops
 * and adds keys (lastDays → from/to, behaviour → attribute condition). Replacing keeps a
 * concurrent edit inside the old variant from leaking into the new one as an invalid mix.
 */
function sameShape(cur: Json, next: Record<string, unknown>): boolean {
  if (!isPlainObject(cur)) return false
  if (cur.method !== next.method || cur.agg !== next.agg) return false
  const removed = Object.keys(cur).some((k) => next[k] === undefined)
  const added = Object.keys(next).some((k) => next[k] !== undefined && !(k in cur))
  return !(removed && added)
}

/** Makes `map[key]` equal `next` with the smallest writes (undefined deletes the key). Inside the caller's transaction. */
export function assign(map: Y.Map<unknown>, key: string, next: unknown, actor: string): void {
  const cur = map.get(key)
  if (next === undefined) {
    if (map.has(key)) {
      map.delete(key)
      map.set(byKey(key), actor)
    }
    return
  }
  if (isPlainObject(next) && cur instanceof Y.Map && !isCell(cur as Y.Map<unknown>) && sameShape(fromY(cur), next))
    return patchMap(cur as Y.Map<unknown>, next, actor)
  if (Array.isArray(next) && cur instanceof Y.Array) return patchArray(cur as Y.Array<unknown>, next, actor)
  if (map.has(key) && jsonEqual(fromY(cur), next)) return
  map.set(key, toY(next, actor))
  map.set(byKey(key), actor)
}

function patchMap(m: Y.Map<unknown>, next: Record<string, unknown>, actor: string): void {
  for (const k of [...m.keys()]) if (!isMeta(k) && next[k] === undefined) assign(m, k, undefined, actor)
  for (const [k, v] of Object.entries(next)) if (!isMeta(k)) assign(m, k, v, actor)
}

/** Same length: element by element. Otherwise the changed middle (after the common prefix and suffix) is replaced. */
function patchArray(arr: Y.Array<unknown>, next: unknown[], actor: string): void {
  const cur = listView(arr).map((e) => fromY(e.el))
  if (cur.length === next.length && reorder(arr, cur, next)) return
  if (cur.length === next.length) {
    next.forEach((v, i) => patchElement(arr, i, v, actor))
    return
  }
  replaceMiddle(arr, cur, next, actor)
}

/**
 * A list read as `from` (its reading order) made `next`: after the common prefix and suffix, the
 * elements between are deleted and `next`'s middle inserted in their place.
 */
function replaceMiddle(arr: Y.Array<unknown>, from: unknown[], next: unknown[], actor: string): void {
  let p = 0
  while (p < from.length && p < next.length && jsonEqual(from[p], next[p])) p++
  let s = 0
  while (s < from.length - p && s < next.length - p && jsonEqual(from[from.length - 1 - s], next[next.length - 1 - s]))
    s++
  if (from.length - s > p) deleteElements(arr, p, from.length - s)
  const inserted = next.slice(p, next.length - s)
  if (inserted.length) insertElements(arr, p, inserted, actor)
}

/**
 * When `next` is `cur` reordered (a form that moved items), moves the elements by rewriting the
 * keys of those out of place (all but a longest run kept in order), as `moveAt` does, so an edit
 * made inside a moved item at the same time survives. False when it is not a reordering.
 */
function reorder(arr: Y.Array<unknown>, cur: Json[], next: unknown[]): boolean {
  const used = new Set<number>()
  const from = next.map((v) => {
    const i = cur.findIndex((c, k) => !used.has(k) && jsonEqual(c, v))
    used.add(i)
    return i
  })
  if (from.includes(-1) || from.every((i, j) => i === j)) return false
  const view = keyed(arr)
  if (view.some((e, i) => !(e.el instanceof Y.Map) || (i > 0 && (view[i - 1] as Entry).order >= e.order))) return false
  // Longest increasing subsequence of `from`: the items that stay where they are.
  const best: number[] = []
  const prev = from.map(() => -1)
  const tails: number[] = []
  from.forEach((v, j) => {
    let lo = 0
    let hi = tails.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((from[tails[mid] as number] as number) < v) lo = mid + 1
      else hi = mid
    }
    if (lo > 0) prev[j] = tails[lo - 1] as number
    tails[lo] = j
  })
  for (let j = tails[tails.length - 1] ?? -1; j >= 0; j = prev[j] as number) best.unshift(j)
  const stays = new Set(best)
  let j = 0
  while (j < from.length) {
    if (stays.has(j)) {
      j++
      continue
    }
    let end = j
    while (end < from.length && !stays.has(end)) end++
    const lo = j > 0 ? (view[from[j - 1] as number] as Entry).order : null
    const hi = end < from.length ? (view[from[end] as number] as Entry).order : null
    const keys = keysBetween(lo, hi, end - j)
    for (let k = j; k < end; k++)
      ((view[from[k] as number] as Entry).el as Y.Map<unknown>).set(ORD, keys[k - j] as string)
    j = end
  }
  return true
}

/** Makes the element at reading position `i` equal `next`; a replaced element keeps its place (order key). */
function patchElement(arr: Y.Array<unknown>, i: number, next: unknown, actor: string): void {
  const e = listView(arr)[i] as Entry
  const el = e.el
  if (jsonEqual(fromY(el), next)) return
  if (el instanceof Y.Map) {
    const m = el as Y.Map<unknown>
    if (isCell(m) && !isPlainObject(next)) return assign(m, CELL, next, actor)
    if (!isCell(m) && isPlainObject(next) && sameShape(fromY(m), next)) return patchMap(m, next, actor)
  }
  const ord = e.own ? e.order : (keyed(arr)[i] as Entry).order
  const pos = listView(arr)[i]?.pos ?? e.pos
  arr.delete(pos, 1)
  arr.insert(pos, [element(next, actor, ord)])
}

/**
 * Like `assign`, but writes only what `next` changes from `base`, the value the writer last saw:
 * a key or list element the writer left as it was keeps whatever the document holds now. A form
 * builds its edit from what it rendered, and a page renders others' edits a frame later
 * (client/features/labels/draft-state.ts): written whole, an edit made from a view that had not
 * yet shown another operator's change to another layer would undo that change.
 */
export function assignChanged(map: Y.Map<unknown>, key: string, base: unknown, next: unknown, actor: string): void {
  if (jsonEqual(base, next)) return
  const cur = map.get(key)
  if (
    cur instanceof Y.Map &&
    !isCell(cur as Y.Map<unknown>) &&
    patchMapChanged(cur as Y.Map<unknown>, base, next, actor)
  )
    return
  if (Array.isArray(base) && Array.isArray(next) && cur instanceof Y.Array)
    return patchArrayChanged(cur as Y.Array<unknown>, base, next, actor)
  assign(map, key, next, actor)
}

/** Key by key when `next` is an edit of `base` and of what the map holds (sameShape); false when it is a different thing. */
function patchMapChanged(m: Y.Map<unknown>, base: unknown, next: unknown, actor: string): boolean {
  if (!isPlainObject(base) || !isPlainObject(next)) return false
  if (!sameShape(base as Json, next) || !sameShape(fromY(m), next)) return false
  for (const k of new Set([...Object.keys(base), ...Object.keys(next)]))
    if (!isMeta(k)) assignChanged(m, k, base[k], next[k], actor)
  return true
}

/**
 * A list edited from `base`: the elements the writer changed, kept in place; a changed length
 * replaces the middle that differs from `base` (after the common prefix and suffix). When the list
 * no longer has `base`'s length (another operator added or removed an element meanwhile), positions
 * don't line up and the list is patched whole, as `assign` does.
 */
function patchArrayChanged(arr: Y.Array<unknown>, base: unknown[], next: unknown[], actor: string): void {
  if (listView(arr).length !== base.length) return patchArray(arr, next, actor)
  if (base.length === next.length) {
    if (reorder(arr, base as Json[], next)) return
    next.forEach((v, i) => {
      if (!jsonEqual(base[i], v)) patchElementChanged(arr, i, base[i], v, actor)
    })
    return
  }
  replaceMiddle(arr, base, next, actor)
}

function patchElementChanged(arr: Y.Array<unknown>, i: number, base: unknown, next: unknown, actor: string): void {
  const el = (listView(arr)[i] as Entry).el
  if (el instanceof Y.Map) {
    const m = el as Y.Map<unknown>
    if (isCell(m) && !isPlainObject(next)) return assignChanged(m, CELL, base, next, actor)
    if (!isCell(m) && patchMapChanged(m, base, next, actor)) return
  }
  patchElement(arr, i, next, actor)
}

/** JSON pointer → segments ('/rule/values/0' → ['rule','values','0']); '' is the root. */
export function pathSegments(path: string): string[] {
  if (path === '' || path === '/') return []
  if (!path.startsWith('/')) throw badRequest(`a path starts with "/": ${JSON.stringify(path)}`, '/path')
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

const deref = (v: unknown): unknown =>
  v instanceof Y.Map && isCell(v as Y.Map<unknown>) ? (v as Y.Map<unknown>).get(CELL) : v

function indexIn(arr: Y.Array<unknown>, seg: string, path: string, allowEnd: boolean): number {
  const i = seg === '-' ? arr.length : /^\d+$/.test(seg) ? Number(seg) : NaN
  if (!(i >= 0 && (i < arr.length || (allowEnd && i === arr.length))))
    throw badRequest(`no item ${seg} at ${path}`, path)
  return i
}

/** The Y container at `segments` under `root` (a map or an array), or a 400 naming the path. */
export function containerAt(root: Y.Map<unknown>, segments: string[], path: string): Y.Map<unknown> | Y.Array<unknown> {
  let node: unknown = root
  for (const seg of segments) {
    node = deref(node)
    if (node instanceof Y.Map) node = (node as Y.Map<unknown>).get(seg)
    else if (node instanceof Y.Array)
      node = listView(node as Y.Array<unknown>)[indexIn(node as Y.Array<unknown>, seg, path, false)]?.el
    else throw badRequest(`nothing at ${path}`, path)
  }
  node = deref(node)
  if (node instanceof Y.Map || node instanceof Y.Array) return node as Y.Map<unknown> | Y.Array<unknown>
  throw badRequest(`${path} is not an object or a list`, path)
}

/** Sets the value at a path under `root` (the last segment names a key or an existing index). */
export function setAt(root: Y.Map<unknown>, path: string, value: unknown, actor: string): void {
  const segs = pathSegments(path)
  const last = segs.pop()
  if (last === undefined) throw badRequest('the path names no field', path)
  const parent = containerAt(root, segs, path)
  if (parent instanceof Y.Map) assign(parent, last, value, actor)
  else patchElement(parent, indexIn(parent, last, path, false), value, actor)
}

/** Inserts `value` into the list at `path` before `index` (or appends when index is the length or '-'). */
export function insertAt(root: Y.Map<unknown>, path: string, index: number, value: unknown, actor: string): void {
  const arr = containerAt(root, pathSegments(path), path)
  if (!(arr instanceof Y.Array)) throw badRequest(`${path} is not a list`, path)
  insertElements(arr, indexIn(arr, String(index), path, true), [value], actor)
}

/** Removes item `index` of the list at `path`. */
export function removeAt(root: Y.Map<unknown>, path: string, index: number): void {
  const arr = containerAt(root, pathSegments(path), path)
  if (!(arr instanceof Y.Array)) throw badRequest(`${path} is not a list`, path)
  const i = indexIn(arr, String(index), path, false)
  deleteElements(arr, i, i + 1)
}

/**
 * Moves item `from` of the list at `path` to position `to` (in the list without it) by rewriting
 * only its order key: the element stays the same Y.Map, so a concurrent edit inside it survives,
 * and two concurrent moves of it resolve last-writer-wins on the key (one copy, on every replica).
 */
export function moveAt(root: Y.Map<unknown>, path: string, from: number, to: number, actor: string): void {
  const arr = containerAt(root, pathSegments(path), path)
  if (!(arr instanceof Y.Array)) throw badRequest(`${path} is not a list`, path)
  const i = indexIn(arr, String(from), path, false)
  const view = keyed(arr)
  const moved = view[i] as Entry
  const rest = view.filter((e) => e !== moved)
  const j = indexIn(arr, String(to), path, false) // `to` counts in the list without the item: at most length - 1
  if (!(moved.el instanceof Y.Map)) {
    // Raw junk (not a map) can't carry a key: copy it as a proper element.
    arr.delete(moved.pos, 1)
    return insertElements(arr, j, [fromY(moved.el)], actor)
  }
  if (i === j) return
  const [key] = keysAt(rest, j, 1)
  ;(moved.el as Y.Map<unknown>).set(ORD, key as string)
}

/**
 * Who last wrote each leaf path under `node` (JSON pointers relative to `base`), falling back to
 * whoever created the enclosing map. Cells report their element's path.
 */
export function authorsOf(node: unknown, base: string, inherited: string, out: Record<string, string>): void {
  if (node instanceof Y.Map) {
    const m = node as Y.Map<unknown>
    const by = typeof m.get(BY) === 'string' ? (m.get(BY) as string) : inherited
    if (isCell(m))
      return authorsOf(
        m.get(CELL),
        base,
        typeof m.get(byKey(CELL)) === 'string' ? (m.get(byKey(CELL)) as string) : by,
        out,
      )
    for (const k of m.keys()) {
      if (isMeta(k)) continue
      const w = m.get(byKey(k))
      authorsOf(m.get(k), `${base}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, typeof w === 'string' ? w : by, out)
    }
    // Deleted keys keep their author: "bob removed the window" is worth showing too.
    for (const k of m.keys()) {
      if (!k.startsWith(`${BY}:`)) continue
      const key = k.slice(BY.length + 1)
      if (key !== CELL && !m.has(key) && typeof m.get(k) === 'string') out[`${base}/${key}`] = m.get(k) as string
    }
    return
  }
  if (node instanceof Y.Array) {
    listView(node as Y.Array<unknown>).forEach((e, i) => authorsOf(e.el, `${base}/${i}`, inherited, out))
    return
  }
  out[base] = inherited
}

/** The author recorded for a key of a map (null when none). */
export function authorOfKey(m: Y.Map<unknown>, key: string): string | null {
  const w = m.get(byKey(key))
  return typeof w === 'string' ? w : null
}

/** Records `actor` as the author of `key` in `m` (for plain, non-diffed fields). */
export function stampKey(m: Y.Map<unknown>, key: string, actor: string): void {
  m.set(byKey(key), actor)
}
