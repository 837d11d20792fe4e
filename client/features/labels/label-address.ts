import { findLabel, type WorkspaceProjection } from '../../../shared/doc/projection.ts'

/**
 * What `#/labels/<ref>` names: a label's id or its name, as written (decoded); null for any
 * other address, or one that does not decode.
 */
export function labelRefOf(hash: string): string | null {
  const raw = /^#\/labels\/(.+)$/.exec(hash)?.[1]
  if (!raw) return null
  try {
    return decodeURIComponent(raw)
  } catch {
    return null // a malformed %-escape names no label
  }
}

/** The address of a label (by id, which survives renames). */
export const labelAddress = (id: string): string => `#/labels/${encodeURIComponent(id)}`

/**
 * The id of the label `ref` names, by id first, else by name (the label holding the name, as
 * the server's /api/labels/:label does); null while no label matches (e.g. not synced yet).
 */
export function resolveLabelRef(view: WorkspaceProjection, ref: string): string | null {
  return findLabel(view, ref)?.id ?? null
}

/**
 * How opening `id` (null: the overview) changes the address from `hash`: a new history entry
 * when it names another label (so Back and Forward move between labels), else the same entry
 * rewritten (e.g. a name pinned to its id). `url` is '' for the overview (no hash).
 */
export function labelStep(hash: string, id: string | null): { push: boolean; url: string } {
  const url = id === null ? '' : labelAddress(id)
  return { push: labelRefOf(hash) !== id, url }
}
