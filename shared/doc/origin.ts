/**
 * Every write to the workspace document carries one of these as its Yjs transaction origin,
 * so hooks can tell an operator's edit from a REST write, a server repair or a document load.
 */
export type OriginKind = 'local' | 'remote' | 'rest' | 'server' | 'repair' | 'load' | 'cluster'

export interface DocOrigin {
  readonly kind: OriginKind
  /** Who caused it: an operator name, or 'server'. */
  readonly actor: string
  /** For 'remote': the collab connection the update arrived on (the server skips echoing it back). */
  readonly connectionId?: number
}

/** Builds an origin; a tiny helper so call sites read `origin('rest', user.name)`. */
export function origin(kind: OriginKind, actor: string): DocOrigin {
  return { kind, actor }
}

/** True when a transaction origin is one of ours (as opposed to a provider object or null). */
export function isDocOrigin(o: unknown): o is DocOrigin {
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof (o as DocOrigin).kind === 'string' &&
    typeof (o as DocOrigin).actor === 'string'
  )
}
