import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { tokenProtocol, WS_PROTOCOL } from '../../shared/ws-protocol.ts'

export interface CollabConnection {
  doc: Y.Doc
  provider: WebsocketProvider
}

/** The collab endpoint's base address for this page (ws: or wss: like the page). */
export function collabBase(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/collab`
}

/**
 * Plain: connects a fresh Y.Doc to `/collab/:workspace` with the stock y-websocket provider,
 * the token in the WebSocket subprotocol (`labels.v1, labels.token.…`), never in the URL,
 * where proxies and server logs would keep it. Returns the connection and its cleanup
 * (destroys provider and doc).
 */
export function makeCollabConnection(token: string, workspace = 'main'): [CollabConnection, () => void] {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(collabBase(), workspace, doc, {
    protocols: [WS_PROTOCOL, tokenProtocol(token)],
  })
  return [
    { doc, provider },
    () => {
      provider.destroy()
      doc.destroy()
    },
  ]
}
