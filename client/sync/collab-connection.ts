import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

export interface CollabConnection {
  doc: Y.Doc
  provider: WebsocketProvider
}

/** The collab endpoint's base address for this page (ws: or wss: like the page). */
export function collabBase(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/collab`
}

/**
 * Plain: connects a fresh Y.Doc to `/collab/:workspace?token=T` with the stock y-websocket
 * provider. Returns the connection and its cleanup (destroys provider and doc).
 */
export function makeCollabConnection(token: string, workspace = 'main'): [CollabConnection, () => void] {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(collabBase(), workspace, doc, { params: { token } })
  return [{ doc, provider }, () => { provider.destroy(); doc.destroy() }]
}
