import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { tokenProtocol, WS_PROTOCOL } from '../../shared/ws-protocol.ts'
import { serverUpdates, type DocUpdates } from './server-updates.ts'
import { installShortAsciiDecode } from './short-ascii-decode.ts'

export interface CollabConnection {
  doc: Y.Doc
  provider: WebsocketProvider
  /** The document's updates, the server's as received (server-updates.ts). */
  updates: DocUpdates
}

/** The collab endpoint's base address for this page (ws: or wss: like the page). */
export function collabBase(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/collab`
}

/**
 * Plain: connects a fresh Y.Doc to `/collab/:workspace` with the stock y-websocket provider,
 * the token in the WebSocket subprotocol (`labels.v1, labels.token.…`), never in the URL,
 * where proxies and server logs would keep it; the server's updates are applied without being
 * encoded again (server-updates.ts). With `connect: false` the socket opens at the first
 * `provider.connect()`. Returns the connection and its cleanup (destroys provider and doc).
 */
export function makeCollabConnection(
  token: string,
  workspace = 'main',
  o: { connect?: boolean } = {},
): [CollabConnection, () => void] {
  installShortAsciiDecode() // the document's strings decoded without a call into the browser each
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(collabBase(), workspace, doc, {
    protocols: [WS_PROTOCOL, tokenProtocol(token)],
    connect: o.connect ?? true,
  })
  if (o.connect === false) joinTabsNow(provider)
  const [updates, stopUpdates] = serverUpdates(doc, provider)
  return [
    { doc, provider, updates },
    () => {
      stopUpdates()
      provider.destroy()
      doc.destroy()
    },
  ]
}

/**
 * Joins the tabs' BroadcastChannel now, for a provider made with `connect: false`. y-websocket's
 * connect() also joins it and publishes the whole document there as a sync step 2, encoded then:
 * once the IndexedDB copy is in, ~1 s of the main thread at 5,000 labels on a loaded machine
 * (issue 9). Joined while the document is empty (other tabs still answer with theirs; the copy's
 * load reaches them as the update Yjs encodes for this page's listeners anyway), connect() then
 * opens the socket only; after a disconnect() left the channel, it joins again as before.
 */
export function joinTabsNow(provider: WebsocketProvider): void {
  const join = provider.connectBc.bind(provider)
  join()
  provider.connectBc = () => {
    if (!provider.bcconnected) join()
  }
}
