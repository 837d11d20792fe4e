import type * as Y from 'yjs'
import { LabelsError } from '../errors.ts'
import { editDraft, type DraftEdit } from './draft-operations.ts'
import type { DraftsProjection, DraftView } from './drafts.ts'
import type { DocOrigin } from './origin.ts'
import { pathSegments, type Json } from './rule-y.ts'

type Found = { found: true; value: Json } | { found: false }

function at(root: unknown, segs: string[]): Found {
  let node = root as Json
  for (const seg of segs) {
    if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) node = node[Number(seg)] as Json
    else if (node && typeof node === 'object' && !Array.isArray(node) && seg in node) node = node[seg] as Json
    else return { found: false }
  }
  return { found: true, value: node }
}

/**
 * The edits that put `me`'s writes from a replaced draft map into the draft that won: each path
 * I wrote last is set again; where the winner lacks the place (a layer I added), the shortest
 * missing part is inserted (list end) or set (object key) whole. Paths others wrote are left as
 * the winner has them.
 */
function replay(lost: DraftView, winner: DraftView, me: string): DraftEdit[] {
  const mine = Object.entries(lost.authors)
    .filter(([, by]) => by === me)
    .map(([p]) => p)
    .sort()
  const edits: DraftEdit[] = []
  const covered: string[] = []
  let shape = JSON.parse(JSON.stringify(winner.definition)) as Json
  for (const path of mine) {
    if (covered.some((c) => path === c || path.startsWith(c + '/'))) continue
    const segs = pathSegments(path)
    const mineValue = at(lost.definition, segs)
    // The shortest prefix the winner lacks, if any.
    let k = 1
    while (k < segs.length && at(shape, segs.slice(0, k)).found) k++
    const prefix = segs.slice(0, k)
    const parent = at(shape, segs.slice(0, k - 1))
    const whole = at(lost.definition, prefix)
    const prefixPath = '/' + prefix.join('/')
    if (k < segs.length || !at(shape, prefix).found) {
      if (!whole.found || !parent.found) continue
      const last = prefix[prefix.length - 1] as string
      if (Array.isArray(parent.value)) {
        if (Number(last) !== parent.value.length) continue // not an append: leave the winner's list alone
        edits.push({ op: 'insert', path: '/' + prefix.slice(0, -1).join('/'), index: Number(last), value: whole.value })
      } else {
        edits.push({ op: 'set', path: prefixPath, value: whole.value })
      }
      covered.push(prefixPath)
    } else {
      edits.push({ op: 'set', path, value: mineValue.found ? mineValue.value : undefined })
    }
    shape = applyShape(shape, edits[edits.length - 1] as DraftEdit)
  }
  return edits
}

/** Keeps `shape` (plain JSON of the winner) in step with the edits planned so far. */
function applyShape(shape: Json, e: DraftEdit): Json {
  const copy = JSON.parse(JSON.stringify(shape)) as Json
  const segs = pathSegments(e.path)
  if (e.op === 'insert') {
    const list = at(copy, segs)
    if (list.found && Array.isArray(list.value)) list.value.splice(e.index, 0, e.value as Json)
    return copy
  }
  if (e.op !== 'set') return copy
  const last = segs.pop() as string
  const parent = at(copy, segs)
  if (parent.found && parent.value && typeof parent.value === 'object' && !Array.isArray(parent.value)) {
    if (e.value === undefined) delete parent.value[last]
    else parent.value[last] = e.value as Json
  }
  return copy
}

/**
 * After an update: drafts whose map was replaced by a concurrently opened one (same id, other
 * `instance`) lose the edits made in the replaced map. This writes `me`'s own edits again into
 * the winner, path by path (others' edits are theirs to replay), each path as its own edit so a
 * path that no longer fits is skipped. Returns the draft ids it wrote to.
 */
export function replayLostDraftEdits(
  doc: Y.Doc,
  before: DraftsProjection,
  after: DraftsProjection,
  origin: DocOrigin,
): string[] {
  const out: string[] = []
  for (const lost of before.drafts) {
    const winner = after.byId[lost.id]
    // A map written over the lost one is a re-open after a discard/publish, not a concurrent open.
    if (!winner || winner.instance === lost.instance || !lost.instance || winner.replaced === lost.instance) continue
    const edits = replay(lost, winner, origin.actor)
    let wrote = false
    for (const e of edits) {
      try {
        editDraft(doc, lost.id, [e], origin)
        wrote = true
      } catch (err) {
        if (!(err instanceof LabelsError)) throw err
      }
    }
    if (wrote) out.push(lost.id)
  }
  return out
}
