import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { CollabClose } from '../../shared/doc/close-codes.ts'
import type { LiveOperator } from '../auth/tokens.ts'
import { LiveHub, parseClientMessage } from '../live/live-hub.ts'
import '../types.ts'

const MAX_MESSAGE_BYTES = 64 * 1024

/**
 * The live channel GET /api/live (WebSocket, auth and Origin checked at upgrade by the auth
 * plugin; the token in `?token=` or the `labels.token.…` subprotocol). A socket whose token
 * is withdrawn while it is open (LABELS_TOKENS_FILE) is closed with 4401.
 */
export default fp(
  async function livePlugin(app: FastifyInstance) {
    const hub = new LiveHub({
      nameOf: (id) => (app.hasDecorator('workspace') ? app.workspace.findLabel(id)?.name : undefined),
    })
    app.decorate('live', hub)
    const holders = new Map<import('ws').WebSocket, LiveOperator>()
    const stop = app.tokens.onChange(() => {
      for (const [socket, operator] of holders)
        if (operator.revoked) socket.close(CollabClose.unauthorized, 'token withdrawn')
    })
    app.addHook('onClose', async () => stop())
    app.get('/api/live', { websocket: true, config: { role: 'viewer' }, schema: { hide: true } }, (socket, req) => {
      hub.add(socket)
      // A signed link's operator is a copy, never revoked in place: links are refused for upgrades anyway.
      if (req.operator) holders.set(socket, req.operator)
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (holders.get(socket)?.revoked) return socket.close(CollabClose.unauthorized, 'token withdrawn')
        if (isBinary || data.length > MAX_MESSAGE_BYTES)
          return socket.send(JSON.stringify({ type: 'error', message: 'send JSON text messages up to 64 KiB' }))
        const msg = parseClientMessage(data.toString('utf8'))
        if ('error' in msg) return socket.send(JSON.stringify({ type: 'error', message: msg.error }))
        // `label:NAME` is accepted like `label:ID`, as `:label` is in the HTTP routes: the label
        // named so now (its id: it stays subscribed through a rename), and whichever label has
        // the name when a message is sent (one created later included: LiveHub nameOf).
        const byId = msg.topics.flatMap((t) => {
          if (!t.startsWith('label:') || t === 'label:*' || !app.hasDecorator('workspace')) return [t]
          const label = app.workspace.findLabel(t.slice('label:'.length))
          return label && `label:${label.id}` !== t ? [t, `label:${label.id}`] : [t]
        })
        hub.subscribe(socket, byId)
        socket.send(JSON.stringify({ type: 'subscribed', topics: msg.topics }))
      })
      socket.on('close', () => (hub.remove(socket), holders.delete(socket)))
      socket.on('error', () => (hub.remove(socket), holders.delete(socket)))
    })
  },
  { name: 'live', dependencies: ['auth'] },
)
