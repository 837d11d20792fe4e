import type { Awareness } from 'y-protocols/awareness'
import { createSignal, onCleanup, type Accessor } from 'solid-js'
import { readAwarenessState, type AwarenessTarget, type CollabAwarenessState } from '../../shared/doc/awareness.ts'
import type { Me } from '../api/types.ts'

export interface Peer extends CollabAwarenessState {
  clientId: number
}

export interface Presence {
  /** Other operators online now (their awareness states), ordered by name. */
  peers: Accessor<Peer[]>
  setEditing(target: AwarenessTarget | null): void
  setDragging(d: CollabAwarenessState['dragging']): void
  /** The shared draft open here and the focused field (JSON pointer), or null. */
  setDraft(d: CollabAwarenessState['draft']): void
  /** Peers editing or dragging this label/group. */
  busyWith(kind: AwarenessTarget['kind'], id: string): Peer[]
}

const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4d7c0f']

/** A stable colour per operator name. */
export function colorFor(name: string): string {
  let h = 0
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) >>> 0
  return PALETTE[h % PALETTE.length] ?? '#2563eb'
}

/** Reactive: publishes this operator's awareness state and tracks the others' (cleaned up with the owner). */
export function createPresence(awareness: Awareness, me: Me): Presence {
  const local: CollabAwarenessState = {
    user: { name: me.name, role: me.role, color: colorFor(me.name) },
    editing: null,
    dragging: null,
  }
  awareness.setLocalState(local)
  // A peer whose state did not change keeps its object, and an unchanged list keeps its array:
  // awareness changes re-render only the markers and dots that moved (For keys by object).
  let known = new Map<number, { json: string; peer: Peer }>()
  const read = (): Peer[] => {
    const out: Peer[] = []
    const next = new Map<number, { json: string; peer: Peer }>()
    awareness.getStates().forEach((raw, clientId) => {
      if (clientId === awareness.clientID) return
      const s = readAwarenessState(raw)
      if (!s) return
      const json = JSON.stringify(s)
      const before = known.get(clientId)
      const peer = before && before.json === json ? before.peer : { ...s, clientId }
      next.set(clientId, { json, peer })
      out.push(peer)
    })
    known = next
    return out.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.clientId - b.clientId)
  }
  const sameList = (a: Peer[], b: Peer[]) => a.length === b.length && a.every((p, i) => p === b[i])
  const [peers, setPeers] = createSignal<Peer[]>(read(), { equals: sameList })
  const onChange = () => setPeers(read())
  awareness.on('change', onChange)
  onCleanup(() => {
    awareness.off('change', onChange)
    awareness.setLocalState(null)
  })
  const patch = (p: Partial<CollabAwarenessState>) =>
    awareness.setLocalState({ ...(awareness.getLocalState() ?? local), ...p })
  return {
    peers,
    setEditing: (editing) => patch({ editing }),
    setDragging: (dragging) => patch({ dragging }),
    setDraft: (draft) => patch({ draft }),
    busyWith: (kind, id) =>
      peers().filter(
        (p) => (p.editing?.kind === kind && p.editing.id === id) || (p.dragging?.kind === kind && p.dragging.id === id),
      ),
  }
}
