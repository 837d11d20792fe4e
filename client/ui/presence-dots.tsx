import { For, type JSX } from 'solid-js'
import type { Peer } from '../sync/presence.ts'

/** Small coloured initials of the operators editing or dragging something. */
export function PresenceDots(props: { peers: Peer[] }): JSX.Element {
  return (
    <span class="presence-dots">
      <For each={props.peers}>
        {(p) => (
          <span
            class="dot"
            style={{ background: p.user.color }}
            title={`${p.user.name} is ${p.dragging ? 'dragging' : 'editing'} this`}
          >
            {p.user.name.slice(0, 1).toUpperCase()}
          </span>
        )}
      </For>
    </span>
  )
}
