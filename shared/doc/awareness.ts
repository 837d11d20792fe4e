/**
 * The awareness state each operator publishes (y-protocols awareness, relayed by the server):
 * who is online and what they are editing or dragging, so other operators see it live.
 */
export type CollabRole = 'viewer' | 'editor' | 'admin'

export interface AwarenessTarget {
  kind: 'label' | 'group'
  id: string
}

export interface CollabAwarenessState {
  user: { name: string; role: CollabRole; color: string }
  /** The label or group whose editor form this operator has open. */
  editing: AwarenessTarget | null
  /** A drag in progress: what is dragged and where it would drop. */
  dragging: (AwarenessTarget & { overGroupId: string | null; index: number | null }) | null
  /** The shared draft this operator has open and the field they are in (a JSON pointer like /rule/values/1), if any. */
  draft?: { id: string; field: string | null } | null
}

const isTarget = (v: unknown): v is AwarenessTarget =>
  typeof v === 'object' &&
  v !== null &&
  ((v as AwarenessTarget).kind === 'label' || (v as AwarenessTarget).kind === 'group') &&
  typeof (v as AwarenessTarget).id === 'string'

/** Reads a peer's state defensively (peers are untrusted); null when it isn't one of ours. */
export function readAwarenessState(v: unknown): CollabAwarenessState | null {
  if (typeof v !== 'object' || v === null) return null
  const s = v as Record<string, unknown>
  const u = s.user as Record<string, unknown> | undefined
  if (!u || typeof u.name !== 'string') return null
  const role: CollabRole = u.role === 'editor' || u.role === 'admin' ? u.role : 'viewer'
  const d = s.dragging as Record<string, unknown> | null | undefined
  const dr = s.draft as Record<string, unknown> | null | undefined
  return {
    user: { name: u.name.slice(0, 100), role, color: typeof u.color === 'string' ? u.color.slice(0, 32) : '#888888' },
    editing: isTarget(s.editing) ? { kind: s.editing.kind, id: s.editing.id } : null,
    dragging: isTarget(d)
      ? {
          kind: d.kind,
          id: d.id,
          overGroupId: typeof d.overGroupId === 'string' ? d.overGroupId : null,
          index: typeof d.index === 'number' ? d.index : null,
        }
      : null,
    // Only present when the peer has a draft open (older peers never send it).
    ...(dr && typeof dr.id === 'string'
      ? { draft: { id: dr.id.slice(0, 128), field: typeof dr.field === 'string' ? dr.field.slice(0, 300) : null } }
      : {}),
  }
}
