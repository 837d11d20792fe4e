import * as Y from 'yjs'
import { groupsOf, labelsOf } from './shape.ts'

/**
 * Server-assigned creation times (issue 12). `createdAt` of a label decides which of two
 * labels with the same name keeps it (projection.ts) and from when its schedule counts
 * (server/runs/scheduler.ts). A browser writes its own clock there, so a client whose clock is
 * a year behind would win every name conflict, and one a year ahead would not be scheduled for
 * a year. So the server owns `createdAt` of labels and groups:
 *
 * - an entry map (label or group) that a client's update brings is stamped with the server's
 *   clock when the server first integrates it ("first seen by the server"), strictly increasing
 *   within the process, so of two same-named labels the one the server saw first keeps the name;
 *   a new label's `updatedAt` gets the same stamp;
 * - a client's later write to `createdAt` of a known entry is written back to the known value.
 *
 * The stamps are written INSIDE the client's transaction (`stamp(tr)` is called from the
 * `Y.transact` that applies the update), so observers, the label-change tracker, the engine
 * hook and the store see one transaction: a creation stays one creation, never a creation
 * followed by an "update". The update then carries the server's writes too, so the sender must
 * get it back (LiveDoc echoes such updates to their sender). Every replica reads the stamped
 * value from the document: all resolve a conflict the same way. REST writes already take the
 * server's clock; entries of other origins are only recorded.
 */
export interface CreationStamper {
  /**
   * Stamps entries the running transaction created and restores `createdAt` values it changed.
   * Call inside the transaction, after the remote update is applied. True when it wrote anything.
   */
  stamp(tr: Y.Transaction): boolean
  /** Records what a finished transaction of any origin created (afterTransaction does it). */
  record(tr: Y.Transaction): void
}

/** The keys a transaction changed in `type` (Transaction.changed, public API). */
const changedKeys = (tr: Y.Transaction, type: Y.Map<unknown>): Set<string | null> | undefined =>
  tr.changed.get(type as unknown as Parameters<typeof tr.changed.get>[0])

export function makeCreationStamper(doc: Y.Doc, now: () => Date = () => new Date()): CreationStamper {
  const roots = [labelsOf(doc), groupsOf(doc)] as const
  /** Entry map → the `createdAt` the server knows it by. */
  const known = new WeakMap<Y.Map<unknown>, string>()
  let last = 0
  const next = (): string => {
    last = Math.max(now().getTime(), last + 1)
    return new Date(last).toISOString()
  }
  const remember = (entry: Y.Map<unknown>) => {
    if (known.has(entry)) return
    const c = entry.get('createdAt')
    known.set(entry, typeof c === 'string' ? c : '')
  }
  for (const root of roots) root.forEach((v) => v instanceof Y.Map && remember(v))

  return {
    stamp(tr) {
      let wrote = false
      for (const root of roots) {
        const keys = changedKeys(tr, root)
        if (!keys) continue
        // Sorted: two entries created by one update get their stamps in the same order everywhere.
        for (const key of [...keys].filter((k): k is string => k !== null).sort()) {
          const entry = root.get(key)
          if (!(entry instanceof Y.Map) || known.has(entry)) continue // deleted, junk, or a known map that won
          const at = next()
          entry.set('createdAt', at)
          if (root === roots[0]) entry.set('updatedAt', at)
          known.set(entry, at)
          wrote = true
        }
      }
      for (const [type, keys] of tr.changed) {
        if (!keys.has('createdAt') || !(type instanceof Y.Map) || !roots.some((r) => type.parent === r)) continue
        const was = known.get(type as Y.Map<unknown>)
        if (was === undefined || type.get('createdAt') === was) continue
        type.set('createdAt', was)
        wrote = true
      }
      return wrote
    },
    record(tr) {
      for (const root of roots) {
        const keys = changedKeys(tr, root)
        if (!keys) continue
        for (const key of keys) {
          const entry = key === null ? undefined : root.get(key)
          if (entry instanceof Y.Map) remember(entry)
        }
      }
    },
  }
}
